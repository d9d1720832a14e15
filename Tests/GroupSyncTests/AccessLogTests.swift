import Foundation
import GroupSync
import LDAPTestSupport
import SyncConfig
import SyncCore
import SyncStore
import Testing

/// Incremental runs that take changed member values from OpenLDAP's access log
/// (`incremental.access_log`), against a real slapd with syncprov and the accesslog overlay.
@Suite("Incremental runs from the access log", .tags(.slapd))
struct AccessLogTests {
    static let user = MemberDeltaTests.user
    static let group = MemberDeltaTests.group
    static let accessLog = "    incremental:\n      access_log: cn=accesslog\n"

    /// A write the log records before anything is synced, as a log in use holds: the
    /// log then reaches back to every position a run keeps.
    static func logSomething(_ directory: TestDirectory) throws {
        try directory.modify("dn: \(user(3))\nchangetype: modify\nreplace: description\ndescription: before the first sync\n")
    }

    @Test("member changes from the log: the same changes, markers and store as whole member sets and a full sync", arguments: SyncHarness.Backend.allCases)
    func sameAsWholeSets(backend: SyncHarness.Backend) async throws {
        let harness = try await SyncHarness(
            fixture: MemberDeltaTests.fixture, limits: ContentSyncTests.limits, directoryExtra: Self.accessLog, backend: backend)
        let log = RecordingLog()
        let fromLog = SyncRunner(config: harness.config, store: harness.store, logger: log.logger)
        let other = try Store(path: harness.folder.appendingPathComponent("whole/groupsync.sqlite").path)
        var wholeSets = SyncRunner(config: harness.config, store: other, logger: quietLogger)
        wholeSets.usesMemberDeltas = false
        for runner in [fromLog, wholeSets] {
            #expect(try await runner.run(SyncRequest()).first?.run.outcome == .applied)
        }

        // The log began after the full run's position: it cannot show it missed nothing.
        try harness.directory.modify("dn: \(Self.group("eng"))\nchangetype: modify\nadd: member\nmember: \(Self.user(20))\n")
        for runner in [fromLog, wholeSets] {
            let report = try #require(try await runner.run(SyncRequest()).first)
            #expect(report.run.mode == .incremental && report.run.counts.memberships.added == 1, "\(report.run.counts)")
        }
        #expect(log.reasons.contains { $0.hasPrefix("access log not used: the access log holds nothing at or before") }, "\(log.reasons)")
        #expect(log.messages.contains("read member changes"), "\(log.messages)")

        // Now it does: members added and removed, one in capitals, in a nesting and a cycle.
        log.clear()
        try harness.directory.modify(MemberDeltaTests.memberChanges + """

            dn: \(Self.group("flat"))
            changetype: modify
            add: member
            member: \(Self.user(5))

            dn: \(Self.group("flat"))
            changetype: modify
            delete: member
            member: \(Self.user(5))

            """)
        let fast = try #require(try await fromLog.run(SyncRequest()).first)
        let slow = try #require(try await wholeSets.run(SyncRequest()).first)
        #expect(fast.run.mode == .incremental && fast.run.outcome == .applied, "\(fast.run.message ?? "")")
        #expect(log.messages.contains("read member changes from the access log"), "\(log.messages) \(log.reasons)")
        // `runs show` says where the changes came from; the run that read the groups says nothing.
        #expect(fast.run.message == "member changes from the access log cn=accesslog (7 write records)", "\(fast.run.message ?? "")")
        #expect(slow.run.message == nil)
        #expect(!log.messages.contains("read member changes"), "\(log.messages)")
        #expect(fast.run.counts == slow.run.counts)
        // user0005 came and went in one window: no change.
        #expect(fast.run.counts.memberships.added == 5 && fast.run.counts.memberships.removed == 4, "\(fast.run.counts)")
        let changes = try harness.store.changes(runID: try #require(fast.run.id)).map(\.summary)
        #expect(changes == (try other.changes(runID: try #require(slow.run.id)).map(\.summary)))
        #expect(changes.contains("user0000 is no longer a member of eng"), "\(changes)")
        #expect(changes.contains { $0.hasPrefix("user0027 is now a member of loop-b") }, "\(changes)")
        #expect(!changes.contains { $0.contains("user0005") }, "\(changes)")
        let snapshot = try harness.snapshot()
        #expect(snapshot == (try other.snapshot(directory: "corp")))
        #expect(try await snapshot == ContentSyncTests().fullSnapshot(harness))
        // The groups' change markers are the ones a read of the groups gives.
        #expect(try harness.store.header(directory: "corp").groupMarkers == other.header(directory: "corp").groupMarkers)
        // The digests were updated by the values alone: a full run finds nothing.
        let full = try #require(try await fromLog.run(SyncRequest(full: true)).first)
        #expect(full.run.outcome == .noChanges, "\(full.run.message ?? "")")
    }

    @Test("a rename, a replaced member list, a group as a value or an unreadable log: the groups are read, the result is right")
    func fallsBack() async throws {
        let harness = try await SyncHarness(fixture: MemberDeltaTests.fixture, limits: ContentSyncTests.limits, directoryExtra: Self.accessLog)
        try Self.logSomething(harness.directory)
        let log = RecordingLog()
        let runner = SyncRunner(config: harness.config, store: harness.store, logger: log.logger)
        #expect(try await runner.run(SyncRequest()).first?.run.outcome == .applied)

        let cases: [(change: String, reason: String)] = [
            ("dn: \(Self.group("flat"))\nchangetype: modrdn\nnewrdn: cn=level\ndeleteoldrdn: 1\n", "had a modrdn operation"),
            ("dn: \(Self.group("eng"))\nchangetype: modify\nreplace: member\nmember: \(Self.user(1))\nmember: \(Self.user(2))\n", "replaced or all deleted"),
            ("dn: \(Self.group("ops"))\nchangetype: modify\nadd: member\nmember: \(Self.group("level"))\n", "names a group or nothing in scope"),
            ("dn: \(Self.group("ops"))\nchangetype: modify\nreplace: description\ndescription: operations\n", "had description changed"),
        ]
        for (change, reason) in cases {
            log.clear()
            try harness.directory.modify(change)
            let report = try #require(try await runner.run(SyncRequest()).first)
            #expect(report.run.mode == .incremental, "\(report.run.message ?? "")")
            #expect(log.reasons.contains { $0.hasPrefix("access log not used:") && $0.contains(reason) }, "\(reason): \(log.reasons) \(log.messages)")
            #expect(!log.messages.contains("read member changes from the access log"))
            #expect(try await harness.snapshot() == ContentSyncTests().fullSnapshot(harness))
        }

        // An access log the account cannot find: a warning, and the groups are read.
        var config = harness.config
        config.directories[0].incremental.accessLog = "cn=nolog"
        let misconfigured = SyncRunner(config: config, store: harness.store, logger: log.logger)
        log.clear()
        try harness.directory.modify("dn: \(Self.group("eng"))\nchangetype: modify\nadd: member\nmember: \(Self.user(25))\n")
        let report = try #require(try await misconfigured.run(SyncRequest()).first)
        #expect(report.run.mode == .incremental && report.run.counts.memberships.added == 1, "\(report.run.counts)")
        #expect(log.messages.contains("the access log could not be read; changed groups are read whole"), "\(log.messages)")
        #expect(log.messages.contains("read member changes"))
        #expect(try await harness.snapshot() == ContentSyncTests().fullSnapshot(harness))
    }
}
