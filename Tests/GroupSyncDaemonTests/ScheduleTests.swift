import Foundation
import GroupSync
import GroupSyncDaemon
import LDAPTestSupport
import Logging
import SyncConfig
import SyncStore
import Testing

@Suite("Schedules: next run, jitter, fixed times, retries")
struct SchedulePlanTests {
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            return z ^ (z >> 27)
        }
    }

    @Test("every: the interval plus a jitter within its bounds")
    func interval() {
        let plan = SchedulePlan(ScheduleConfig(every: .seconds(1800), jitter: .seconds(120)))
        var random = Seeded(state: 1)
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        var delays: [TimeInterval] = []
        for _ in 0..<1000 { delays.append(plan.nextRun(after: start, random: &random)!.timeIntervalSince(start)) }
        #expect(delays.allSatisfy { $0 >= 1800 && $0 <= 1920 })
        #expect(delays.min()! < 1810 && delays.max()! > 1910, "the jitter spreads over its range")
        let exact = SchedulePlan(ScheduleConfig(every: .seconds(60)))
        #expect(exact.nextRun(after: start, random: &random) == start.addingTimeInterval(60))
    }

    @Test("at: the next fixed time of day, in the given time zone, rolling over midnight")
    func fixedTimes() throws {
        let zone = try #require(TimeZone(identifier: "Europe/Berlin"))
        let plan = SchedulePlan(ScheduleConfig(at: ["08:00", "13:00", "23:00"]), timeZone: zone)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        func date(_ day: Int, _ hour: Int, _ minute: Int) -> Date {
            calendar.date(from: DateComponents(year: 2026, month: 11, day: day, hour: hour, minute: minute))!
        }
        var random = Seeded(state: 2)
        #expect(plan.nextRun(after: date(28, 7, 59), random: &random) == date(28, 8, 0))
        #expect(plan.nextRun(after: date(28, 8, 0), random: &random) == date(28, 13, 0), "strictly after")
        #expect(plan.nextRun(after: date(28, 23, 30), random: &random) == date(29, 8, 0))
        #expect(SchedulePlan(ScheduleConfig(onStart: true)).nextRun(after: date(28, 1, 0), random: &random) == nil)
    }

    @Test("retries double with jitter, stop after the limit, never wait past the interval")
    func retries() {
        let plan = SchedulePlan(ScheduleConfig(every: .seconds(600), retries: 4, retryAfter: .seconds(30)))
        var random = Seeded(state: 3)
        let delays = (1...5).map { plan.retryDelay(attempt: $0, random: &random) }
        #expect(delays[0]! >= 30 && delays[0]! <= 37.5)
        #expect(delays[1]! >= 60 && delays[1]! <= 75)
        #expect(delays[2]! >= 120 && delays[2]! <= 150)
        #expect(delays[3]! >= 240 && delays[3]! <= 300)
        #expect(delays[4] == nil)
        let capped = SchedulePlan(ScheduleConfig(every: .seconds(45), retries: 3, retryAfter: .seconds(30)))
        #expect(capped.retryDelay(attempt: 3, random: &random) == 45)
    }
}

@Suite("The scheduler with a test clock, against a real slapd", .tags(.slapd))
struct SchedulerServiceTests {
    @Test("on_start runs at once, then every interval; a failure is retried with back-off, not at the next interval")
    func firing() async throws {
        let harness = try await DaemonHarness(schedule: "    schedule:\n      every: 30m\n      on_start: true\n      retries: 2\n      retry_after: 1m")
        let config = try ConfigLoader.load(path: harness.configPath)
        let store = try harness.store()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let start = Date(timeIntervalSince1970: 1_900_000_000)
        let clock = ManualWallClock(start)
        let state = DaemonState(config: config, store: store, logger: logger)
        let coordinator = RunCoordinator(state: state)
        let scheduler = SchedulerService(state: state, coordinator: coordinator, clock: clock)
        let task = Task { await scheduler.loop() }
        defer { task.cancel() }

        func runs() throws -> [RunRecord] { try store.runs(limit: 100).filter { $0.outcome != .running } }
        func waitFor(_ count: Int) async throws {
            let deadline = ContinuousClock.now + .seconds(60)  // runs go on a thread at nice 10: slow when the machine is busy
            while try runs().count < count || clock.pendingDeadlines.isEmpty {
                guard ContinuousClock.now < deadline else { Issue.record("waited for \(count) runs"); return }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        try await waitFor(1)
        #expect(try runs().first?.trigger == .startup)
        let next = try #require(clock.pendingDeadlines.first)
        #expect(next == start.addingTimeInterval(1800), "no jitter configured: exactly 30m after the clock's now")
        #expect(await coordinator.status()["corp"]?.nextRun == next)

        clock.advance(to: next)
        try await waitFor(2)
        #expect(try runs().first?.trigger == .schedule)
        #expect(try runs().first?.outcome == .noChanges)

        // The directory goes away: the next scheduled run fails and is retried after about 1m, then 2m.
        await harness.directory.stop()
        clock.advance(to: try #require(clock.pendingDeadlines.first))
        try await waitFor(3)
        #expect(try runs().first?.outcome == .failed)
        let retry = try #require(clock.pendingDeadlines.first)
        #expect(retry.timeIntervalSince(clock.now()) >= 60 && retry.timeIntervalSince(clock.now()) <= 75)
        #expect(await coordinator.status()["corp"]?.consecutiveFailures == 1)
    }
}

@Suite("The daemon's in-memory index after runs", .tags(.slapd))
struct IndexRefreshTests {
    @Test("after a run changes the store, answers come from the store until it has been quiet, then from a rebuilt index")
    func quietBeforeRebuild() async throws {
        let harness = try await DaemonHarness()
        let config = try ConfigLoader.load(path: harness.configPath)
        let store = try harness.store()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        _ = try await SyncRunner(config: config, store: store, logger: logger).run(SyncRequest())
        let state = DaemonState(config: config, store: store, logger: logger, indexQuiet: .seconds(2))
        _ = try await state.verificationService()
        #expect(try await harness.eventually { await state.answersFromIndex })

        // Changes every 400 ms for 3.2 s (a watch-mode stream): each restarts the 2 s quiet
        // period, so no index is built meanwhile and the answers come from the store.
        for _ in 0..<8 {
            await state.snapshotChanged()
            #expect(await !state.answersFromIndex)
            try await Task.sleep(for: .milliseconds(400))
        }
        #expect(await !state.answersFromIndex, "no index was built while the changes kept coming")
        let answer = try await state.verificationService().verify("alice", targets: [.group("finance")])
        #expect(answer.results.first?.landed == true, "the store answers meanwhile")
        // Quiet: the index comes back.
        #expect(try await harness.eventually { await state.answersFromIndex })
    }

    @Test("a run is written into the index at once; after a run without a plan, answers wait for the rebuild")
    func patchedAtOnce() async throws {
        let harness = try await DaemonHarness()
        let config = try ConfigLoader.load(path: harness.configPath)
        let store = try harness.store()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let runner = SyncRunner(config: config, store: store, logger: logger)
        _ = try await runner.run(SyncRequest())
        // A quiet period no test waits for: an index seen below is a patched one.
        let metrics = DaemonMetrics()
        let state = DaemonState(config: config, store: store, logger: logger, indexQuiet: .seconds(600), metrics: metrics)
        _ = try await state.verificationService()
        #expect(try await harness.eventually { await state.answersFromIndex })

        try harness.directory.modify("""
            dn: cn=sales,ou=groups,dc=example,dc=com
            changetype: modify
            add: member
            member: uid=dave,ou=people,dc=example,dc=com

            """)
        var report = try #require(try await runner.run(SyncRequest()).first)
        await state.snapshotChanged(by: report.plan, directory: "corp")
        #expect(try await harness.eventually { await state.answersFromIndex })
        #expect(await state.patchedIndexes == 1)
        let service = try await state.verificationService()
        #expect(service.usesIndex)
        #expect(try await service.verify("dave", targets: [.group("sales")]).results.first?.landed == true)

        // A new hire, in a group: written in too, with the ref the store gave it.
        try harness.directory.add([DirectoryFixture.person("erin")])
        try harness.directory.modify("""
            dn: cn=sales,ou=groups,dc=example,dc=com
            changetype: modify
            add: member
            member: uid=erin,ou=people,dc=example,dc=com

            """)
        report = try #require(try await runner.run(SyncRequest()).first)
        #expect(report.plan?.usersAdded.count == 1)
        await state.snapshotChanged(by: report.plan, directory: "corp")
        #expect(try await harness.eventually { await state.patchedIndexes == 2 })
        #expect(try await harness.eventually { await state.answersFromIndex })
        #expect(try await state.verificationService().verify("erin", targets: [.group("sales")]).results.first?.landed == true)
        let counted = metrics.text()
        #expect(counted.contains(#"groupsync_index_updates_total{kind="patch"} 2"#), "\(counted)")
        #expect(counted.contains(#"groupsync_index_updates_total{kind="rebuild"} 1"#), "the index read at start only")

        // A run without a plan (one another daemon ran): the store answers until a rebuild,
        // and a run after it cannot be written into an index that may lack that one.
        await state.snapshotChanged()
        try harness.directory.modify("""
            dn: cn=sales,ou=groups,dc=example,dc=com
            changetype: modify
            delete: member
            member: uid=erin,ou=people,dc=example,dc=com

            """)
        report = try #require(try await runner.run(SyncRequest()).first)
        await state.snapshotChanged(by: report.plan, directory: "corp")
        try await Task.sleep(for: .milliseconds(500))
        #expect(await !state.answersFromIndex)
        #expect(await state.patchedIndexes == 2)
        let fromStore = try await state.verificationService()
        #expect(!fromStore.usesIndex)
        #expect(try await fromStore.verify("erin", targets: [.group("sales")]).results.first?.landed == false)
    }
}
