@testable import SyncStore
import SyncCore
import Testing

/// The rows a plan adds, made chunk by chunk on another thread while the previous chunk is
/// written: the same rows in the same (key) order as in one piece, and an inconsistent plan
/// still throws.
@Suite("Membership rows made while the previous chunk is written")
struct MembershipRowsTests {
    /// 40 groups, 30 of them new (all members from the shared sets) and 10 stored with added
    /// members; 2,000 users; sizes from 1 to about 500 members; a few group members.
    static func plan() -> (plan: Plan, refs: StoredRefs) {
        var refs = StoredRefs()
        for user in 0..<2000 { refs.add(.user, "u\(user)", ref: Int64(10_000 - user)) }  // refs not in id order
        for group in 0..<40 { refs.add(.group, "g\(group)", ref: Int64(500 + (group * 7) % 40)) }
        var plan = Plan()
        var generator = SystemRandomNumberGenerator()
        for group in 0..<40 {
            let size = group == 3 ? 1 : Int.random(in: 2...500, using: &generator)
            var members = Set((0..<size).map { _ in MemberRef.user("u\(Int.random(in: 0..<2000, using: &generator))") })
            if group.isMultiple(of: 9) { members.insert(.group("g\((group + 1) % 40)")) }
            if group < 30 {
                plan.newGroupMembers["g\(group)"] = members
            } else {
                plan.membershipsAdded += members.sorted().map { Membership(groupID: "g\(group)", member: $0) }
            }
        }
        return (plan, refs)
    }

    static func collect(_ rows: MembershipRows, rowsPerChunk: Int) throws -> (rows: [SnapshotWriter.Edge], chunks: [[SnapshotWriter.Edge]]) {
        var all: [SnapshotWriter.Edge] = [], chunks: [[SnapshotWriter.Edge]] = []
        try rows.forEachChunk(rowsPerChunk: rowsPerChunk) { chunk in
            all += chunk
            chunks.append(chunk)
        }
        return (all, chunks)
    }

    @Test("in chunks of 1 to 5,000 rows: the rows of one piece, in key order, each once", arguments: [1, 100, 777, 5000])
    func sameRows(rowsPerChunk: Int) throws {
        let (plan, refs) = Self.plan()
        let rows = try MembershipRows(plan: plan, refs: refs)
        let whole = try Self.collect(rows, rowsPerChunk: .max)
        #expect(whole.chunks.count == 1 && whole.rows.count == plan.membershipsAddedCount)
        #expect(whole.rows == whole.rows.sorted() && Set(whole.rows.map { [$0.group, $0.kind, $0.member] }).count == whole.rows.count)
        let chunked = try Self.collect(rows, rowsPerChunk: rowsPerChunk)
        #expect(chunked.rows == whole.rows)
        // Chunks of whole groups, each closed by the group that takes it to rowsPerChunk rows
        // (the last may be short). The plan has about 10,000 rows (its sizes are random), so
        // every size here makes more than one chunk.
        #expect(chunked.chunks.count > 1)
        var seen = Set<Int64>()
        for (index, chunk) in chunked.chunks.enumerated() {
            let groups = Set(chunk.map(\.group))
            #expect(seen.isDisjoint(with: groups), "chunk \(index) holds part of a group an earlier chunk has")
            seen.formUnion(groups)
            let closing = chunk.last!.group
            let before = chunk.count - chunk.filter { $0.group == closing }.count
            #expect(before < rowsPerChunk, "chunk \(index) should have closed before its last group")
            if index < chunked.chunks.count - 1 { #expect(chunk.count >= rowsPerChunk, "chunk \(index) closed short") }
        }
        // Each row is the plan's: the group's ref, the member's kind and ref.
        let expected = Set(plan.membershipsAdded.map { ($0.groupID, $0.member) }.map { [refs.lookup(.group, $0.0)!, Int64($0.1.kind.code), refs.lookup($0.1.kind, $0.1.id)!] }
            + plan.newGroupMembers.flatMap { group, members in members.map { [refs.lookup(.group, group)!, Int64($0.kind.code), refs.lookup($0.kind, $0.id)!] } })
        #expect(Set(chunked.rows.map { [$0.group, $0.kind, $0.member] }) == expected)
    }

    @Test("a member the store lacks, in a later chunk: the error comes before that chunk is handed over")
    func inconsistent() throws {
        var (plan, refs) = Self.plan()
        refs.add(.user, "u-unused", ref: 1)
        let last = plan.membershipsAdded.map(\.groupID).max()!
        plan.membershipsAdded.append(Membership(groupID: last, member: .user("nobody")))
        plan.membershipsAdded.sort()
        let rows = try MembershipRows(plan: plan, refs: refs)
        var handed = 0
        let error = try #require(throws: StoreInconsistency.self) {
            try rows.forEachChunk(rowsPerChunk: 100) { handed += $0.count }
        }
        #expect(error.description.contains("no stored user with id nobody"))
        #expect(handed > 0 && handed < plan.membershipsAddedCount)
    }
}
