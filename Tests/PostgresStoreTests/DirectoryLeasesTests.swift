import Foundation
import PostgresNIO
import PostgresStore
import SyncConfig
import Synchronization
import SyncCore
import SyncStore
import Testing

/// Which daemon syncs a directory, decided by the database.
@Suite("Directory leases")
struct DirectoryLeasesTests {
    static func migrated() async throws -> PostgresSettings {
        let (_, settings) = try await PostgresServer.shared.freshDatabase()
        try await blocking { _ = try PostgresSchema.migrate(try PostgresSession.connect(settings)) }
        return settings
    }

    @Test("one owner at a time; renewing keeps the generation; releasing hands over with a new one")
    func exclusive() async throws {
        let settings = try await Self.migrated()
        try await blocking {
            let leases = DirectoryLeases(session: try PostgresSession.connect(settings))
            let first = try #require(try leases.acquire("corp", owner: "daemon-a", for: .seconds(30)))
            #expect(first.owner == "daemon-a")
            #expect(first.generation == 1)
            #expect(first.expiresAt.timeIntervalSince(first.acquiredAt) > 29)
            #expect(try leases.acquire("corp", owner: "daemon-b", for: .seconds(30)) == nil)
            #expect(try leases.current("corp")?.owner == "daemon-a")
            // Another directory is free for b.
            #expect(try leases.acquire("lab", owner: "daemon-b", for: .seconds(30))?.owner == "daemon-b")
            #expect(try leases.all().map(\.owner) == ["daemon-a", "daemon-b"])

            let renewed = try #require(try leases.acquire("corp", owner: "daemon-a", for: .seconds(60)))
            #expect(renewed.generation == first.generation)
            #expect(renewed.acquiredAt == first.acquiredAt)
            #expect(renewed.expiresAt > first.expiresAt)

            #expect(try leases.release("corp", owner: "daemon-b") == false)
            #expect(try leases.release("corp", owner: "daemon-a") == true)
            #expect(try leases.current("corp") == nil)
            let taken = try #require(try leases.acquire("corp", owner: "daemon-b", for: .seconds(30)))
            #expect(taken.owner == "daemon-b")
            #expect(taken.generation == 1)  // the row was deleted: a fresh lease
            #expect(try leases.releaseAll(owner: "daemon-b") == ["corp", "lab"])
        }
    }

    @Test("an owner that stops renewing loses the directory once the lease expires, to a new generation")
    func expiry() async throws {
        let settings = try await Self.migrated()
        let leases = DirectoryLeases(session: try await blocking { try PostgresSession.connect(settings) })
        let first = try #require(try await blocking { try leases.acquire("corp", owner: "daemon-a", for: .seconds(3)) })
        // b's first try is refused while a's lease runs. On a machine loaded enough that the
        // try reached the database after the expiry (CI has been, even with 3 s), b may take
        // it then, and only then: the database's clock decides, so check against it.
        var taken = try await blocking { try leases.acquire("corp", owner: "daemon-b", for: .seconds(30)) }
        if let early = taken {
            #expect(early.acquiredAt >= first.expiresAt, "b took the lease before a's expired")
        }
        // Poll (bounded) until the database's clock has passed the expiry.
        let deadline = ContinuousClock.now + .seconds(20)
        while taken == nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            taken = try await blocking { try leases.acquire("corp", owner: "daemon-b", for: .seconds(30)) }
        }
        let lease = try #require(taken)
        #expect(lease.owner == "daemon-b")
        #expect(lease.generation == first.generation + 1)
        #expect(lease.acquiredAt >= first.expiresAt)
    }

    @Test("50 daemons asking at once: exactly one gets the lease")
    func race() async throws {
        let settings = try await Self.migrated()
        let winners = try await withThrowingTaskGroup(of: String?.self) { group in
            for index in 0..<50 {
                group.addTask {
                    try await blocking {
                        let leases = DirectoryLeases(session: try PostgresSession.connect(settings))
                        return try leases.acquire("corp", owner: "daemon-\(index)", for: .seconds(30))?.owner
                    }
                }
            }
            var winners: [String] = []
            for try await winner in group { if let winner { winners.append(winner) } }
            return winners
        }
        #expect(winners.count == 1)
        let holder = try await blocking { try DirectoryLeases(session: try PostgresSession.connect(settings)).current("corp")?.owner }
        #expect(holder == winners.first)
    }

    @Test("the fence: a run whose lease was taken over, released or expired cannot commit")
    func fence() async throws {
        let settings = try await Self.migrated()
        try await blocking {
            let session = try PostgresSession.connect(settings)
            let leases = DirectoryLeases(session: session)
            try session.query("CREATE TABLE applied (n INTEGER)")
            func apply(_ lease: DirectoryLease, _ value: Int32) throws {
                try session.transaction { transaction in
                    try transaction.query("INSERT INTO applied VALUES (\(value))")
                    try DirectoryLeases.confirm(lease, in: transaction)
                }
            }
            func appliedValues() throws -> [Int32] {
                try session.query("SELECT n FROM applied ORDER BY n").map { try $0.decode(Int32.self) }
            }

            let a = try #require(try leases.acquire("corp", owner: "daemon-a", for: .seconds(30)))
            try apply(a, 1)
            #expect(try appliedValues() == [1])

            // Taken over after expiry by b: a's late apply is refused and rolled back.
            _ = try #require(try leases.acquire("corp", owner: "daemon-a", for: .milliseconds(1)))
            Thread.sleep(forTimeInterval: 0.05)
            let b = try #require(try leases.acquire("corp", owner: "daemon-b", for: .seconds(30)))
            #expect(throws: PostgresStoreError.self) { try apply(a, 2) }
            do { try apply(a, 2) } catch { #expect("\(error)".contains("now synced by daemon-b")) }
            try apply(b, 3)
            #expect(try appliedValues() == [1, 3])

            // Released: refused.
            try leases.release("corp", owner: "daemon-b")
            do { try apply(b, 4); Issue.record("applied without a lease") } catch { #expect("\(error)".contains("is gone")) }

            // Expired but not yet taken: refused too (the database's clock decides).
            let c = try #require(try leases.acquire("corp", owner: "daemon-c", for: .milliseconds(1)))
            Thread.sleep(forTimeInterval: 0.05)
            do { try apply(c, 5); Issue.record("applied on an expired lease") } catch { #expect("\(error)".contains("expired")) }
            #expect(try appliedValues() == [1, 3])
        }
    }
}

/// The store's runs under a daemon's lease: a run commits only while its lease holds.
@Suite("PostgreSQL store: runs fenced by the daemon's lease")
struct FencedRunsTests {
    @Test("an apply commits under a current lease; after a takeover, or without a lease, nothing is written")
    func fenced() async throws {
        let (_, settings) = try await PostgresServer.shared.freshDatabase()
        try await blocking {
            let store = try PostgresStore(settings: settings)
            let leases = DirectoryLeases(session: try PostgresSession.connect(settings))
            let held = Mutex<DirectoryLease?>(nil)
            store.fenceRuns { _ in held.withLock { $0 } }
            let wanted = PostgresSnapshotTests.directory(users: 20, groups: 6)
            let run = RunRecord(directory: "corp", trigger: .schedule, mode: .full, outcome: .applied, startedAt: Date(), finishedAt: Date())

            // No lease: refused.
            do { try store.apply(Planner.plan(wanted: wanted, current: Snapshot()), run: run); Issue.record("applied without a lease") } catch {
                #expect("\(error)".contains("does not hold the lease on directory corp"))
            }
            held.withLock { $0 = try? leases.acquire("corp", owner: "daemon-a", for: .seconds(30)) }
            try store.apply(Planner.plan(wanted: wanted, current: Snapshot()), run: run)
            #expect(try store.snapshot(directory: "corp") == wanted)

            // daemon-a's lease lapses and daemon-b takes the directory: a's late run is refused.
            held.withLock { $0 = try? leases.acquire("corp", owner: "daemon-a", for: .milliseconds(1)) }
            Thread.sleep(forTimeInterval: 0.05)
            #expect(try leases.acquire("corp", owner: "daemon-b", for: .seconds(30)) != nil)
            let next = PostgresSnapshotTests.changed(wanted)
            do { try store.apply(Planner.plan(wanted: next, current: try store.snapshot(directory: "corp")), run: run); Issue.record("a stale owner applied") } catch {
                #expect("\(error)".contains("now synced by daemon-b"))
            }
            #expect(try store.snapshot(directory: "corp") == wanted)
            #expect(try store.runs().count == 1)
        }
    }
}
