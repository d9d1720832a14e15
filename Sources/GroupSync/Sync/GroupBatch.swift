import Foundation
import LDAPClient
import SyncCore

/// Groups gathered as a search streams them, handed to the builder a few hundred at a time
/// so their member values are resolved on every core (``SnapshotBuilder/addGroups(_:workers:)``)
/// while the session's thread decodes the next page. Resolving a million member values was
/// a full core for about a second, the rest of the read waiting on it.
struct GroupBatch {
    /// Member values gathered before the batch is resolved.
    static let valuesPerBatch = 20_000
    static let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 4))

    private var entries: [LDAPEntry] = []
    private var values = 0

    /// Adds a group to `builder` once the batch is full; ``flush(into:)`` adds the rest.
    mutating func add(_ entry: LDAPEntry, to builder: inout SnapshotBuilder) throws {
        entries.append(entry)
        for attribute in builder.mapping.member { values += entry.attribute(attribute)?.count ?? 0 }
        for attribute in builder.mapping.memberUID { values += entry.attribute(attribute)?.count ?? 0 }
        if values >= Self.valuesPerBatch { try flush(into: &builder) }
    }

    mutating func flush(into builder: inout SnapshotBuilder) throws {
        guard !entries.isEmpty else { return }
        try builder.addGroups(entries, workers: Self.workers)
        entries.removeAll(keepingCapacity: true)
        values = 0
    }
}
