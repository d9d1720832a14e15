import Foundation
import GroupSyncDaemon
import LDAPTestSupport
import Synchronization
import Testing

/// Verification load while the daemon syncs: requests at a fixed rate (not as fast as the
/// answers come, so a slow answer cannot hide the requests that should have followed it),
/// latency measured from each request's scheduled time.
@Suite("Load: verification during back-to-back full syncs", .tags(.slapd))
struct LoadTests {
    /// The benchmark's directory; GROUPSYNC_LOAD_USERS scales it (users; groups and member
    /// values follow), GROUPSYNC_LOAD_SECONDS and GROUPSYNC_LOAD_RATE shape the load.
    static var environment: [String: String] { ProcessInfo.processInfo.environment }
    static var users: Int { environment["GROUPSYNC_LOAD_USERS"].flatMap(Int.init) ?? 100_000 }
    static var seconds: Int { environment["GROUPSYNC_LOAD_SECONDS"].flatMap(Int.init) ?? 60 }
    static var rate: Int { environment["GROUPSYNC_LOAD_RATE"].flatMap(Int.init) ?? 200 }

    struct Outcome: Sendable {
        var latency: Duration
        var status: Int
        var problem: String?
    }

    @Test("200 verifications a second for 60 s over TCP while full syncs run back to back: no errors, no \"database is locked\"")
    func verifyDuringSyncs() async throws {
        var generator = BenchmarkData()
        generator.users = Self.users
        generator.groups = max(100, Self.users / 10)
        generator.memberValues = Self.users * 10
        let data = generator
        let ldif = FileManager.default.temporaryDirectory.appendingPathComponent("groupsync-load-\(UUID().uuidString.prefix(8)).ldif")
        defer { try? FileManager.default.removeItem(at: ldif) }
        _ = try await offThePool { try data.write(to: ldif.path) }
        let harness = try await DaemonHarness(tcp: true, fixture: DirectoryFixture(entries: DirectoryFixture.skeleton(), ldifFile: ldif.path))
        try await harness.startDaemon()
        let client = DaemonClient(endpoint: .tcp(host: "127.0.0.1", port: harness.port), token: harness.token, timeout: 60)
        let syncClient = DaemonClient(endpoint: .tcp(host: "127.0.0.1", port: harness.port), token: harness.token, timeout: 900)

        let initialStart = ContinuousClock.now
        let initial = try await syncClient.request("POST", "/v1/sync")
        #expect(initial.status == 200 && initial.text.contains("\"applied\""), "\(initial.text.prefix(500))")
        let initialTime = ContinuousClock.now - initialStart

        // Full syncs, back to back, until the load is over.
        let loadOver = Atomic(false)
        let syncs = Task { () -> [String] in
            var outcomes: [String] = []
            while !loadOver.load(ordering: .relaxed) {
                let response = try await syncClient.request("POST", "/v1/sync", body: Data(#"{"full": true}"#.utf8))
                let runs = (try? JSONSerialization.jsonObject(with: response.body) as? [String: Any])?["runs"] as? [[String: Any]]
                outcomes.append("\(response.status) \(runs?.first?["outcome"] as? String ?? response.text.prefix(200).description)")
            }
            return outcomes
        }

        let interval = Duration.seconds(1) / Self.rate
        let count = Self.rate * Self.seconds
        let started = ContinuousClock.now
        let outcomes = try await withThrowingTaskGroup(of: Outcome.self) { group in
            for index in 0..<count {
                let scheduled = started + interval * index
                try await Task.sleep(until: scheduled, clock: .continuous)
                let user = (index * 7919) % Self.users
                group.addTask {
                    do {
                        let response = try await client.request("GET", "/v1/verify?user=u\(user)&group=g\(user % data.groups)")
                        var problem: String?
                        if response.text.contains("database is locked") { problem = "database is locked" }
                        else if response.status != 200 { problem = "status \(response.status): \(response.text.prefix(200))" }
                        else if (try? JSONSerialization.jsonObject(with: response.body) as? [String: Any])?["user"] is [String: Any] == false {
                            problem = "no user in the answer: \(response.text.prefix(200))"
                        }
                        return Outcome(latency: ContinuousClock.now - scheduled, status: response.status, problem: problem)
                    } catch {
                        return Outcome(latency: ContinuousClock.now - scheduled, status: 0, problem: "\(error)")
                    }
                }
            }
            var outcomes: [Outcome] = []
            for try await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        let elapsed = ContinuousClock.now - started
        loadOver.store(true, ordering: .relaxed)
        let syncOutcomes = try await syncs.value

        let problems = outcomes.compactMap(\.problem)
        #expect(outcomes.count == count)
        #expect(problems.isEmpty, "\(problems.count) failed: \(Array(Set(problems)).prefix(5))")
        #expect(!syncOutcomes.isEmpty && syncOutcomes.allSatisfy { $0 == "200 no-changes" }, "\(syncOutcomes)")
        #expect(!harness.log.contains("database is locked"))
        let latencies = outcomes.map(\.latency).sorted()
        func percentile(_ p: Double) -> Duration { latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        func ms(_ duration: Duration) -> String { String(format: "%.1f ms", Double(duration.components.attoseconds) / 1e15 + Double(duration.components.seconds) * 1000) }
        let achieved = Double(count) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        print("""
            load: \(Self.users) users, \(count) verifications at \(Self.rate)/s over \(elapsed) (\(String(format: "%.0f", achieved))/s achieved), \
            \(problems.count) errors; latency p50 \(ms(percentile(0.5))), p99 \(ms(percentile(0.99))), max \(ms(latencies.last ?? .zero)); \
            \(syncOutcomes.count) full syncs during the load (\(syncOutcomes.joined(separator: ", "))); initial sync \(initialTime)
            """)
        #expect(await harness.stopDaemon() == 0)
    }
}
