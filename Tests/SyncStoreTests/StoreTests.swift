import Foundation
import LDAPTestSupport
import PostgresStore
import SyncConfig
import SyncCore
import SyncStore
import Testing

/// The stores these tests run against: SQLite, and PostgreSQL on the test run's server.
enum Backend: String, CaseIterable, CustomStringConvertible {
    case sqlite, postgres
    var description: String { rawValue }
}

@Suite("The store (SQLite and PostgreSQL)")
struct StoreTests {
    static func temporaryStore() throws -> Store {
        // "nested": the store creates the folders its path names.
        let path = try scratchFolder("groupsync-store").appendingPathComponent("nested/store.sqlite").path
        return try Store(path: path)
    }

    /// An empty store of the given kind.
    static func temporaryStore(_ backend: Backend) async throws -> any SnapshotStore {
        switch backend {
        case .sqlite:
            return try temporaryStore()
        case .postgres:
            let (_, url, passwordFile) = try await SharedTestPostgres.shared.freshDatabase()
            let settings = try PostgresSettings(url: url, passwordFile: passwordFile, tls: .init(mode: .disable))
            return try await offThePool { try PostgresStore(settings: settings) }
        }
    }

    static let alice = DirectoryUser(id: "a", dn: "uid=alice,dc=x", username: "alice", mail: "alice@x", aliases: ["al@x", "a@x"], displayName: "Alice", disabled: true)
    static let bob = DirectoryUser(id: "b", dn: "uid=bob,dc=x", username: "bob")
    static let finance = DirectoryGroup(id: "g", dn: "cn=finance,dc=x", name: "finance", mail: "finance@x")
    static let wanted = Snapshot(
        users: [alice, bob], groups: [finance],
        memberships: [Membership(groupID: "g", member: .user("a")), Membership(groupID: "g", member: .group("g"))],
        unresolved: [UnresolvedMember(groupID: "g", value: "uid=ghost,dc=x")])

    static func run(_ outcome: RunRecord.Outcome, _ directory: String = "corp") -> RunRecord {
        RunRecord(directory: directory, trigger: .manual, mode: .full, outcome: outcome, startedAt: Date(), finishedAt: Date())
    }

    @Test("applying a plan writes exactly the wanted snapshot, with the run and its changes", arguments: Backend.allCases)
    func applyRoundTrip(backend: Backend) async throws {
        let store = try await Self.temporaryStore(backend)
        let plan = Planner.plan(wanted: Self.wanted, current: try store.snapshot(directory: "corp"))
        let run = try store.apply(plan, run: Self.run(.applied))
        #expect(run.id != nil)
        #expect(try store.snapshot(directory: "corp") == Self.wanted)
        #expect(try store.snapshot(directory: "other").isEmpty)
        #expect(run.totals == RunRecord.Totals(users: 2, groups: 1, memberships: 2, unresolvedMembers: 1))
        let changes = try store.changes(runID: try #require(run.id))
        #expect(changes == plan.changes)
        let runID = try #require(run.id)
        let stored = try #require(try store.run(id: runID))
        #expect(stored.outcome == run.outcome && stored.counts == run.counts && stored.totals == run.totals)
        #expect(abs(stored.startedAt.timeIntervalSince(run.startedAt)) < 0.001, "timestamps keep milliseconds")
        // Planning again against what was stored: nothing to do.
        #expect(Planner.plan(wanted: Self.wanted, current: try store.snapshot(directory: "corp")).isEmpty)
    }

    @Test("an applied run finishes when its plan is written: its duration includes the apply", arguments: Backend.allCases)
    func applyFinishes(backend: Backend) async throws {
        let store = try await Self.temporaryStore(backend)
        var run = Self.run(.applied)
        run.startedAt = Date(timeIntervalSinceNow: -60)
        run.finishedAt = run.startedAt
        let before = Date()
        let applied = try store.apply(Planner.plan(wanted: Self.wanted, current: Snapshot()), run: run)
        #expect(applied.finishedAt >= before.addingTimeInterval(-0.001) && applied.finishedAt <= Date())
        let runID = try #require(applied.id)
        let stored = try #require(try store.run(id: runID))
        #expect(abs(stored.finishedAt.timeIntervalSince(applied.finishedAt)) < 0.001)
    }

    @Test("changes and removals are applied, field by field", arguments: Backend.allCases)
    func applyChanges(backend: Backend) async throws {
        let store = try await Self.temporaryStore(backend)
        try store.apply(Planner.plan(wanted: Self.wanted, current: Snapshot()), run: Self.run(.applied))
        var next = Self.wanted
        next.users["a"]?.dn = "uid=alice,ou=moved,dc=x"
        next.users["a"]?.aliases = []
        next.users["b"] = nil
        next.members["g"] = [.user("a")]
        next.unresolved = [:]
        let plan = Planner.plan(wanted: next, current: try store.snapshot(directory: "corp"))
        let run = try store.apply(plan, run: Self.run(.applied))
        #expect(try store.snapshot(directory: "corp") == next)
        // The totals (memberships from the groups' member digests) follow the change.
        let members = try store.snapshot(directory: "corp").members.values.map(\.count).reduce(0, +)
        #expect(members == 1 && run.totals == RunRecord.Totals(users: 1, groups: 1, memberships: 1, unresolvedMembers: 0))
        #expect(try store.totals(directory: "corp") == run.totals)
    }

    @Test("a failing apply writes nothing: not the snapshot, not the run", arguments: Backend.allCases)
    func atomic(backend: Backend) async throws {
        let store = try await Self.temporaryStore(backend)
        try store.apply(Planner.plan(wanted: Self.wanted, current: Snapshot()), run: Self.run(.applied))
        var plan = Planner.plan(wanted: Snapshot(users: [Self.alice, Self.bob, DirectoryUser(id: "c", dn: "uid=c,dc=x")], groups: [Self.finance], memberships: []), current: Snapshot())
        // Adding memberships that already exist violates the primary key halfway through.
        plan.membershipsAdded = Self.wanted.allMemberships
        let error = try #require(throws: StoreError.self) { try store.apply(plan, run: Self.run(.applied)) }
        #expect(error.description.contains(backend == .sqlite ? "UNIQUE constraint failed" : "duplicate key value violates unique constraint"))
        #expect(try store.snapshot(directory: "corp") == Self.wanted)
        #expect(try store.runs().count == 1)
    }

    @Test("run history: newest first, per directory, with the last successful run", arguments: Backend.allCases)
    func history(backend: Backend) async throws {
        let store = try await Self.temporaryStore(backend)
        try store.record(Self.run(.noChanges))
        try store.record(Self.run(.failed), changes: [])
        try store.record(Self.run(.dryRun, "other"))
        #expect(try store.runs().map(\.outcome) == [.dryRun, .failed, .noChanges])
        #expect(try store.runs(directory: "corp", limit: 1).map(\.outcome) == [.failed])
        #expect(try store.lastSuccessfulRun(directory: "corp")?.outcome == .noChanges)
        #expect(try store.lastSuccessfulRun(directory: "other") == nil)
    }

    @Test("a store in a folder that cannot be created is an error naming the path")
    func unwritable() throws {
        let error = try #require(throws: StoreError.self) { try Store(path: "/proc/groupsync/store.sqlite") }
        #expect(error.description.contains("/proc/groupsync/store.sqlite"))
    }

    @Test("one lock per store: a second holder is refused and told who holds it")
    func lock() throws {
        let store = try Self.temporaryStore()
        do {
            let first = try StoreLock(storePath: store.path)
            let error = try #require(throws: StoreLockError.self) { try StoreLock(storePath: store.path) }
            #expect(error.holder == "\(getpid())")
            withExtendedLifetime(first) {}
        }
        _ = try StoreLock(storePath: store.path)
    }

    @Test("the run lock, whichever store: a second holder of a directory is refused and told who holds it", arguments: Backend.allCases)
    func runLock(backend: Backend) async throws {
        let store = try await Self.temporaryStore(backend)
        do {
            let first = try store.runLock(directories: ["corp", "lab"])
            let error = try #require(throws: StoreLockError.self) { try store.runLock(directories: ["lab"]) }
            #expect(error.description.contains("is running against this store"))
            #expect(error.holder != nil, "the holder is named")
            switch backend {
            case .sqlite:
                // One lock for the whole file: any other directory waits too.
                #expect(throws: StoreLockError.self) { try store.runLock(directories: ["other"]) }
            case .postgres:
                // One lock per directory: the directory named, another directory free.
                #expect(error.directory == "lab" && error.description.contains("another sync of directory lab"), "\(error)")
                let other = try store.runLock(directories: ["other"])
                withExtendedLifetime(other) {}
            }
            withExtendedLifetime(first) {}
        }
        _ = try store.runLock(directories: ["corp", "lab"])
    }
}

@Suite("Reading the snapshot back with member reuse")
struct StoreReuseTests {
    @Test("reading with the wanted snapshot gives the same snapshot as a full read, and a changed group is read from disk", arguments: Backend.allCases)
    func reuse(backend: Backend) async throws {
        let store = try await StoreTests.temporaryStore(backend)
        var wanted = StoreTests.wanted
        wanted.computeDigests()
        try store.apply(Planner.plan(wanted: wanted, current: Snapshot()), run: StoreTests.run(.applied))
        #expect(try store.snapshot(directory: "corp", reusingMembersOf: wanted) == store.snapshot(directory: "corp"))
        var next = wanted
        next.members["g"] = [.user("b")]
        next.computeDigests()
        let current = try store.snapshot(directory: "corp", reusingMembersOf: next)
        #expect(current.members["g"] == StoreTests.wanted.members["g"], "the stored members, not the wanted ones")
        let plan = Planner.plan(wanted: next, current: current)
        #expect(plan.membershipsAddedCount == 1 && plan.membershipsRemoved.count == 2)
        try store.apply(plan, run: StoreTests.run(.applied))
        #expect(try store.snapshot(directory: "corp") == next)
        #expect(try store.snapshot(directory: "corp").memberDigests["g"] == next.memberDigests["g"])
    }
}

@Suite("Effective membership from the store")
struct StoreEffectiveTests {
    @Test("the recursive query agrees with the in-memory closure, cycles included", arguments: Backend.allCases)
    func agrees(backend: Backend) async throws {
        let store = try await StoreTests.temporaryStore(backend)
        let users = (0..<6).map { DirectoryUser(id: "u\($0)", dn: "uid=u\($0),dc=x") }
        let groups = (0..<5).map { DirectoryGroup(id: "g\($0)", dn: "cn=g\($0),dc=x", name: "g\($0)") }
        let memberships = [
            Membership(groupID: "g0", member: .user("u0")), Membership(groupID: "g1", member: .group("g0")),
            Membership(groupID: "g2", member: .group("g1")), Membership(groupID: "g0", member: .group("g2")),
            Membership(groupID: "g3", member: .user("u1")), Membership(groupID: "g4", member: .group("g3")),
            Membership(groupID: "g4", member: .user("u0")),
        ]
        let snapshot = Snapshot(users: users, groups: groups, memberships: memberships)
        try store.apply(Planner.plan(wanted: snapshot, current: Snapshot()), run: StoreTests.run(.applied))
        let closure = EffectiveMembership(snapshot)
        for user in users {
            let expected = Set(groups.map(\.id).filter { closure.users(of: $0).contains(user.id) })
            #expect(try store.effectiveGroups(directory: "corp", userID: user.id) == expected, "\(user.id)")
        }
        #expect(try store.effectiveGroups(directory: "corp", userID: "u0") == ["g0", "g1", "g2", "g4"])
        #expect(try store.effectiveGroups(directory: "other", userID: "u0").isEmpty)
    }
}
