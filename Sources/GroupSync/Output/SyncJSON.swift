import Foundation
import SyncCore
import SyncStore

/// The JSON shapes scripts rely on (INTERFACE.md). Field names are part of the contract.
public enum SyncJSON {
    public struct SyncOutput: Encodable {
        public var runs: [Run]
        /// The landing report evaluated after the runs, when policies are configured.
        public var landing: ReportAnswer?

        public init(runs: [Run]) { self.runs = runs }
    }

    public struct Run: Encodable {
        var id: Int64?
        var directory: String
        var trigger: String
        var mode: String
        var outcome: String
        var startedAt: String
        var finishedAt: String
        var counts: Counts
        var totals: RunRecord.Totals
        var message: String?
        var changesTotal: Int
        var changes: [Change]?

        enum CodingKeys: String, CodingKey {
            case id, directory, trigger, mode, outcome, counts, totals, message, changes
            case startedAt = "started_at"
            case finishedAt = "finished_at"
            case changesTotal = "changes_total"
        }

        public init(_ run: RunRecord, changes: [PlannedChange]? = nil) {
            id = run.id
            directory = run.directory
            trigger = run.trigger.rawValue
            mode = run.mode.rawValue
            outcome = run.outcome.rawValue
            startedAt = rfc3339(run.startedAt)
            finishedAt = rfc3339(run.finishedAt)
            counts = Counts(run.counts)
            totals = run.totals
            message = run.message
            self.changes = changes?.map(Change.init)
            changesTotal = max(run.changesTotal, changes?.count ?? 0)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(directory, forKey: .directory)
            try container.encode(trigger, forKey: .trigger)
            try container.encode(mode, forKey: .mode)
            try container.encode(outcome, forKey: .outcome)
            try container.encode(startedAt, forKey: .startedAt)
            try container.encode(finishedAt, forKey: .finishedAt)
            try container.encode(counts, forKey: .counts)
            try container.encode(totals, forKey: .totals)
            try container.encode(message, forKey: .message)
            try container.encodeIfPresent(changes, forKey: .changes)
            try container.encode(changesTotal, forKey: .changesTotal)
        }
    }

    struct Counts: Encodable {
        struct Kind: Encodable {
            var added: Int
            var removed: Int
            var changed: Int
        }
        struct Edges: Encodable {
            var added: Int
            var removed: Int
        }
        var users: Kind
        var groups: Kind
        var memberships: Edges

        init(_ counts: ChangeCounts) {
            users = Kind(added: counts.users.added, removed: counts.users.removed, changed: counts.users.changed)
            groups = Kind(added: counts.groups.added, removed: counts.groups.removed, changed: counts.groups.changed)
            memberships = Edges(added: counts.memberships.added, removed: counts.memberships.removed)
        }
    }

    struct Change: Encodable {
        var kind: String
        var action: String
        var objectID: String
        var dn: String
        var summary: String
        var fields: [FieldChange]

        enum CodingKeys: String, CodingKey {
            case kind, action, dn, summary, fields
            case objectID = "object_id"
        }

        init(_ change: PlannedChange) {
            kind = change.kind.rawValue
            action = change.action.rawValue
            objectID = change.objectID
            dn = change.dn
            summary = change.summary
            fields = change.fields
        }
    }

    public static func encode(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

/// RFC 3339 in UTC, with milliseconds.
public func rfc3339(_ date: Date) -> String {
    date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
        .replacingOccurrences(of: "+0000", with: "Z")
}
