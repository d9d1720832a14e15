import Foundation
import SyncCore

/// The membership rows a plan adds, in key order (group ref, member kind, member ref), made
/// chunk by chunk. A large plan (a first sync's million rows) makes each chunk on a thread
/// of its own while the writer inserts the one before: looking up a million member refs and
/// sorting each group's rows is about a third of a second of the apply that SQLite would
/// otherwise wait for, with the second core idle.
struct MembershipRows: Sendable {
    /// Where one group's rows come from: a run of the plan's `membershipsAdded`, or all the
    /// members of a group new to the store (the set the plan shares with the snapshot).
    enum Source: Sendable {
        case added(Range<Int>)
        case newGroup(String)
    }

    private let groups: [(ref: Int64, source: Source, rows: Int)]
    private let added: [Membership]
    private let newGroupMembers: [String: Set<MemberRef>]
    private let refs: StoredRefs

    init(plan: Plan, refs: StoredRefs) throws {
        let added = plan.membershipsAdded
        var groups: [(ref: Int64, source: Source, rows: Int)] = []
        var start = 0
        while start < added.count {
            var end = start + 1
            while end < added.count && added[end].groupID == added[start].groupID { end += 1 }
            groups.append((try refs.group(added[start].groupID), .added(start..<end), end - start))
            start = end
        }
        for (group, members) in plan.newGroupMembers { groups.append((try refs.group(group), .newGroup(group), members.count)) }
        groups.sort { $0.ref < $1.ref }
        self.groups = groups
        self.added = added
        self.newGroupMembers = plan.newGroupMembers
        self.refs = refs
    }

    /// Hands `insert` the rows in key order, in chunks of whole groups of about
    /// `rowsPerChunk` rows; with more than one chunk, each is made on another thread while
    /// `insert` takes the one before. An inconsistent plan (a member the store lacks) throws
    /// before the chunk holding it is inserted.
    func forEachChunk(rowsPerChunk: Int, _ insert: ([SnapshotWriter.Edge]) throws -> Void) throws {
        var chunks: [Range<Int>] = []
        var start = 0, rows = 0
        for (index, group) in groups.enumerated() {
            rows += group.rows
            if rows >= rowsPerChunk {
                chunks.append(start..<index + 1)
                start = index + 1
                rows = 0
            }
        }
        if start < groups.count { chunks.append(start..<groups.count) }
        guard !chunks.isEmpty else { return }
        var next = Result { try self.rows(of: chunks[0]) }
        for index in chunks.indices {
            let current = try next.get()
            let coming = index + 1 < chunks.count ? ChunkInMaking(chunks[index + 1], of: self) : nil
            // Should the insert throw, the chunk in making finishes on its own (it reads only
            // this value's copies) and is dropped.
            try insert(current)
            if let coming { next = coming.result() }
        }
    }

    /// The rows of `groups[range]`, each group's sorted.
    fileprivate func rows(of range: Range<Int>) throws -> [SnapshotWriter.Edge] {
        var rows: [SnapshotWriter.Edge] = []
        rows.reserveCapacity(groups[range].reduce(0) { $0 + $1.rows })
        for group in groups[range] {
            let first = rows.count
            switch group.source {
            case .added(let run):
                for membership in added[run] {
                    rows.append(SnapshotWriter.Edge(group: group.ref, kind: Int64(membership.member.kind.code), member: try refs[membership.member]))
                }
            case .newGroup(let id):
                for member in newGroupMembers[id] ?? [] {
                    rows.append(SnapshotWriter.Edge(group: group.ref, kind: Int64(member.kind.code), member: try refs[member]))
                }
            }
            rows[first...].sort()
        }
        return rows
    }
}

/// A chunk made on a thread of its own, not a pool's: the writer waits for it while holding
/// the store, and a pool whose threads all wait on the store would never run it.
private final class ChunkInMaking: @unchecked Sendable {
    private var made: Result<[SnapshotWriter.Edge], any Error>?
    private let done = DispatchSemaphore(value: 0)

    init(_ range: Range<Int>, of rows: MembershipRows) {
        Thread { [self] in
            made = Result { try rows.rows(of: range) }
            done.signal()
        }.start()
    }

    /// Waits for the chunk; call once.
    func result() -> Result<[SnapshotWriter.Edge], any Error> {
        done.wait()
        return made!
    }
}
