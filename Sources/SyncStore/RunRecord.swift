import Foundation
import GRDB
import SyncCore

/// One sync run as the store records it.
public struct RunRecord: Sendable, Equatable, Codable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "run"

    public enum Trigger: String, Sendable, Codable, CaseIterable { case schedule, manual, api, startup, watch }
    public enum Mode: String, Sendable, Codable, CaseIterable { case full, incremental }
    public enum Outcome: String, Sendable, Codable, CaseIterable {
        case applied
        case noChanges = "no-changes"
        case dryRun = "dry-run"
        case stoppedByLimit = "stopped-by-limit"
        case failed
        /// In progress: the row is written when a run starts, so its id is known at once.
        case running
    }

    /// Object counts of the snapshot after the run (or as the directory returned them).
    public struct Totals: Sendable, Equatable, Codable {
        public var users: Int
        public var groups: Int
        public var memberships: Int
        public var unresolvedMembers: Int

        public init(users: Int = 0, groups: Int = 0, memberships: Int = 0, unresolvedMembers: Int = 0) {
            self.users = users
            self.groups = groups
            self.memberships = memberships
            self.unresolvedMembers = unresolvedMembers
        }
    }

    public var id: Int64?
    public var directory: String
    public var trigger: Trigger
    public var mode: Mode
    public var outcome: Outcome
    public var startedAt: Date
    public var finishedAt: Date
    public var counts: ChangeCounts
    public var totals: Totals
    /// How many changes the run applied or planned; `run_change` keeps the first ones.
    public var changesTotal: Int
    public var message: String?
    /// The configuration the run used (``Store/saveConfig(file:text:)``).
    public var configDigest: String?

    public enum Columns {
        static let id = Column(CodingKeys.id)
        static let directory = Column(CodingKeys.directory)
    }

    enum CodingKeys: String, CodingKey {
        case id, directory, trigger, mode, outcome, counts, totals, message
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case changesTotal = "changes_total"
        case configDigest = "config_digest"
    }

    public init(
        id: Int64? = nil, directory: String, trigger: Trigger, mode: Mode, outcome: Outcome, startedAt: Date,
        finishedAt: Date, counts: ChangeCounts = ChangeCounts(), totals: Totals = Totals(), changesTotal: Int = 0,
        message: String? = nil, configDigest: String? = nil
    ) {
        self.configDigest = configDigest
        self.changesTotal = changesTotal
        self.id = id
        self.directory = directory
        self.trigger = trigger
        self.mode = mode
        self.outcome = outcome
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.counts = counts
        self.totals = totals
        self.message = message
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}

/// One change of a run, as `runs show` lists it.
struct RunChangeRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "run_change"

    var runID: Int64
    var seq: Int
    var kind: PlannedChange.Kind
    var action: PlannedChange.Action
    var objectID: String
    var dn: String
    var summary: String
    var fields: [FieldChange]

    enum CodingKeys: String, CodingKey {
        case seq, kind, action, dn, summary, fields
        case runID = "run_id"
        case objectID = "object_id"
    }

    enum Columns {
        static let runID = Column(CodingKeys.runID)
        static let seq = Column(CodingKeys.seq)
    }

    var change: PlannedChange {
        PlannedChange(kind: kind, action: action, objectID: objectID, dn: dn, summary: summary, fields: fields)
    }
}
