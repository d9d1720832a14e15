import Foundation
import GroupSync
import LDAPTestSupport
import Logging
import SyncConfig
import SyncCore
import SyncStore
import Synchronization
import Testing

/// Incremental runs whose changes are member values only, compared value by value
/// (`IncrementalReader.readMemberDeltas`), against a real slapd with syncprov.
@Suite("Incremental runs by member values", .tags(.slapd))
struct MemberDeltaTests {
    static func user(_ index: Int) -> String { String(format: "uid=user%04d,ou=people,dc=example,dc=com", index) }
    static func group(_ name: String) -> String { "cn=\(name),ou=groups,dc=example,dc=com" }

    /// People, a nesting (eng and ops in all), a cycle, and a group with a value in capitals.
    static var fixture: DirectoryFixture {
        var fixture = DirectoryFixture.people(30)
        fixture.entries += [
            DirectoryFixture.group("all", members: [group("eng"), group("ops"), user(29)]),
            DirectoryFixture.group("eng", members: (0..<10).map(user)),
            DirectoryFixture.group("ops", members: (10..<20).map(user)),
            DirectoryFixture.group("loop-a", members: [group("loop-b"), user(20)]),
            DirectoryFixture.group("loop-b", members: [group("loop-a"), user(21)]),
            DirectoryFixture.group("flat", members: (22..<26).map(user) + ["UID=USER0026,OU=People,DC=Example,DC=com"]),
        ]
        return fixture
    }

    /// Members added to and removed from eng, ops, all (above both), a group of the cycle,
    /// and flat (one value in capitals): five values added, four removed.
    static var memberChanges: String {
        """
            dn: \(Self.group("eng"))
            changetype: modify
            add: member
            member: \(Self.user(15))
            -
            delete: member
            member: \(Self.user(0))

            dn: \(Self.group("ops"))
            changetype: modify
            delete: member
            member: \(Self.user(10))
            -
            add: member
            member: \(Self.user(0))

            dn: \(Self.group("all"))
            changetype: modify
            add: member
            member: \(Self.user(1))
            -
            delete: member
            member: \(Self.user(29))

            dn: \(Self.group("loop-a"))
            changetype: modify
            add: member
            member: \(Self.user(27))

            dn: \(Self.group("flat"))
            changetype: modify
            delete: member
            member: \(Self.user(26))
            -
            add: member
            member: UID=USER0028,OU=PEOPLE,DC=EXAMPLE,DC=COM

            """
    }

    @Test(
        "member-only changes are compared value by value: the same changes and store as whole member sets and a full sync",
        arguments: SyncHarness.Backend.allCases)
    func sameAsWholeSets(backend: SyncHarness.Backend) async throws {
        let harness = try await SyncHarness(fixture: Self.fixture, limits: ContentSyncTests.limits, backend: backend)
        let log = RecordingLog()
        let byValue = SyncRunner(config: harness.config, store: harness.store, logger: log.logger)
        // Whole member sets, into a store of its own (SQLite whichever store the harness has).
        let other = try Store(path: harness.folder.appendingPathComponent("whole/groupsync.sqlite").path)
        var wholeSets = SyncRunner(config: harness.config, store: other, logger: quietLogger)
        wholeSets.usesMemberDeltas = false
        for runner in [byValue, wholeSets] {
            #expect(try await runner.run(SyncRequest()).first?.run.outcome == .applied)
        }

        try harness.directory.modify(Self.memberChanges)
        let fast = try #require(try await byValue.run(SyncRequest()).first)
        let slow = try #require(try await wholeSets.run(SyncRequest()).first)
        #expect(fast.run.mode == .incremental && fast.run.outcome == .applied, "\(fast.run.message ?? "")")
        #expect(slow.run.mode == .incremental && slow.run.outcome == .applied, "\(slow.run.message ?? "")")
        #expect(log.messages.contains("read member changes"), "\(log.messages)")
        #expect(fast.run.counts == slow.run.counts)
        #expect(fast.run.counts.memberships.added == 5 && fast.run.counts.memberships.removed == 4, "\(fast.run.counts)")
        let changes = try harness.store.changes(runID: try #require(fast.run.id)).map(\.summary)
        #expect(changes == (try other.changes(runID: try #require(slow.run.id)).map(\.summary)))
        // user0000 left eng for ops: still in all through ops; user0001 joined all directly,
        // and was in it through eng already; user0027 joined both groups of the cycle.
        #expect(changes.contains("user0000 is no longer a member of eng"), "\(changes)")
        #expect(!changes.contains { $0.hasPrefix("user0000 is no longer a member of all") || $0.hasPrefix("user0001 is now a member of all") }, "\(changes)")
        #expect(changes.contains { $0.hasPrefix("user0027 is now a member of loop-b") }, "\(changes)")
        #expect(changes.contains("user0029 is no longer a member of all"), "\(changes)")
        let snapshot = try harness.snapshot()
        #expect(snapshot == (try other.snapshot(directory: "corp")))
        #expect(try await snapshot == ContentSyncTests().fullSnapshot(harness))
        // The stored member digests were updated by the changes alone: a full run finds nothing.
        let full = try #require(try await byValue.run(SyncRequest(full: true)).first)
        #expect(full.run.outcome == .noChanges, "\(full.run.message ?? "")")

        // A group nested into another is not a member-only change: whole member sets then.
        try harness.directory.modify("dn: \(Self.group("ops"))\nchangetype: modify\nadd: member\nmember: \(Self.group("flat"))\n")
        log.clear()
        let nested = try #require(try await byValue.run(SyncRequest()).first)
        #expect(nested.run.mode == .incremental && nested.run.outcome == .applied)
        #expect(!log.messages.contains("read member changes") && log.messages.contains("comparing whole member sets"), "\(log.messages)")
        #expect(try harness.recordedChanges(nested).contains { $0.hasPrefix("user0022 is now a member of all") })
        #expect(try await harness.snapshot() == ContentSyncTests().fullSnapshot(harness))
    }
}

/// A logger that keeps the messages it is given (debug and up).
final class RecordingLog: Sendable {
    private let store = Mutex<[String]>([])
    private let reasonStore = Mutex<[String]>([])
    var messages: [String] { store.withLock { $0 } }
    /// Each message that gave a reason (`because`), as "message: reason".
    var reasons: [String] { reasonStore.withLock { $0 } }
    func clear() {
        store.withLock { $0.removeAll() }
        reasonStore.withLock { $0.removeAll() }
    }

    var logger: Logger {
        var logger = Logger(label: "test") { _ in Handler(log: self) }
        logger.logLevel = .debug
        return logger
    }

    struct Handler: LogHandler {
        let log: RecordingLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            log.store.withLock { $0.append(event.message.description) }
            if let because = event.metadata?["because"] { log.reasonStore.withLock { $0.append("\(event.message): \(because)") } }
        }
    }
}
