import Foundation
import GroupSyncDaemon
import LDAPTestSupport
import Testing

/// Two daemons on one PostgreSQL store: exactly one syncs the directory, the other takes
/// over within the lease after the first dies, and manual syncs on either make one run.
@Suite("Several daemons on one PostgreSQL store", .tags(.slapd))
struct SharedStoreTests {
    /// One daemon of the pair: its configuration (same store and directory, its own socket
    /// and name) and its process.
    final class Member: @unchecked Sendable {
        let name: String
        let configPath: String
        let socket: String
        let log: String
        var process: SpawnedProcess?

        init(
            name: String, harness: DaemonHarness, storeURL: String, passwordFile: String, schedule: String = "", lease: String = "3s"
        ) throws {
            self.name = name
            configPath = harness.folder.appendingPathComponent("\(name).yaml").path
            socket = harness.folder.appendingPathComponent("\(name).sock").path
            log = harness.folder.appendingPathComponent("\(name).log").path
            let text = harness.config(schedule: schedule)
                .replacingOccurrences(of: "store:\n  path: var/groupsync.sqlite\n", with: """
                    store:
                      postgres:
                        url: \(storeURL)
                        password_file: \(passwordFile)
                        tls:
                          mode: disable

                    """)
                .replacingOccurrences(of: "server:\n  socket: var/groupsync.sock\n", with: "server:\n  socket: \(socket)\n  name: \(name)\n  lease: \(lease)\n")
            precondition(text.contains("name: \(name)") && text.contains("postgres:"), "the daemon configuration was not rewritten")
            try text.write(toFile: configPath, atomically: true, encoding: .utf8)
        }

        func start() async throws {
            process = try SpawnedProcess(executable: DaemonHarness.binary, arguments: ["serve", "--config", configPath], logPath: log)
            let deadline = ContinuousClock.now + .seconds(20)
            while !DaemonClient.answers(socket: socket) {
                guard process?.isRunning == true, ContinuousClock.now < deadline else {
                    throw DaemonError("daemon \(name) did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
                }
                try await Task.sleep(for: .milliseconds(50))
            }
        }

        var client: DaemonClient { DaemonClient(endpoint: .unix(socket), timeout: 60) }

        /// Whether this daemon answers that `user` landed in `group`.
        func landed(_ user: String, _ group: String) async throws -> Bool {
            let response = try await client.request("GET", "/v1/verify?user=\(user)&group=\(group)")
            guard response.status == 200 else { return false }
            let json = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
            let results = json?["results"] as? [[String: Any]] ?? []
            return !results.isEmpty && results.allSatisfy { $0["landed"] as? Bool == true }
        }

        /// The owner of `corp` as this daemon's `/v1/status` reports it.
        func owner() async throws -> String? {
            let response = try await client.request("GET", "/v1/status")
            let json = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
            return ((json?["directories"] as? [[String: Any]])?.first?["owner"]) as? String
        }
    }

    /// Waits until both daemons name the same owner, one of the two; returns (owner, other).
    static func agreedOwner(_ a: Member, _ b: Member, _ harness: DaemonHarness) async throws -> (Member, Member) {
        #expect(try await harness.eventually {
            let (ownerA, ownerB) = (try await a.owner(), try await b.owner())
            return ownerA != nil && ownerA == ownerB
        })
        let ownerName = try #require(try await a.owner())
        #expect([a.name, b.name].contains(ownerName))
        return ownerName == a.name ? (a, b) : (b, a)
    }

    @Test("one owner; 50 manual syncs over both daemons make one run; SIGKILL the owner and the other takes over within the lease")
    func ownership() async throws {
        // The run below waits on a stopped slapd for 3 s and must then succeed: an LDAP timeout
        // and a lease with room for a CI machine running every suite at once (a run failed
        // there with 5 s and 3 s).
        let harness = try await DaemonHarness(ldapTimeout: "20s")
        let (_, url, passwordFile) = try await SharedTestPostgres.shared.freshDatabase()
        let a = try Member(name: "daemon-a", harness: harness, storeURL: url, passwordFile: passwordFile, lease: "6s")
        let b = try Member(name: "daemon-b", harness: harness, storeURL: url, passwordFile: passwordFile, lease: "6s")
        defer { a.process?.killAndReap(); b.process?.killAndReap() }
        try await a.start()
        try await b.start()

        let (owner, other) = try await Self.agreedOwner(a, b, harness)

        // 50 triggers spread over both daemons while the run waits on the directory: one run.
        await harness.directory.kill(SIGSTOP)
        let ids = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<50 {
                let member = index % 2 == 0 ? a : b
                group.addTask {
                    let response = try await member.client.request("POST", "/v1/sync", body: Data("{}".utf8))
                    let json = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
                    let runs = try #require(json?["runs"] as? [[String: Any]], "\(response.text)")
                    return try #require(runs.first?["id"] as? Int, "\(response.text)")
                }
            }
            try await Task.sleep(for: .seconds(3))  // every request is in while the run waits (LDAP timeout 5 s)
            harness.directory.signalNow(SIGCONT)
            var ids: [Int] = []
            for try await id in group { ids.append(id) }
            return ids
        }
        #expect(ids.count == 50)
        #expect(Set(ids).count == 1, "one run for all: \(Set(ids))")
        let runs = try await other.client.request("GET", "/v1/runs")
        let listed = (try JSONSerialization.jsonObject(with: runs.body) as? [String: Any])?["runs"] as? [[String: Any]]
        #expect(listed?.count == 1, "\(runs.text)")
        #expect(listed?.first?["outcome"] as? String == "applied", "\(runs.text)")

        // The owner dies without releasing its lease: the other daemon owns the directory
        // within the lease (6 s) and its renewal interval, and syncs it.
        owner.process?.signal(SIGKILL)
        await owner.process?.waitForExit()
        let killed = ContinuousClock.now
        #expect(try await harness.eventually { try await other.owner() == other.name })
        let takeover = ContinuousClock.now - killed
        // At most the lease (6 s) plus one renewal interval (2 s); the rest is slack for a loaded
        // CI machine: 4.8 s when this suite runs alone, but 11.7 and 14.6 s in two full parallel
        // runs of `make test` on two cores (the lease loop's 200 ms rounds starved), so 18 s.
        #expect(takeover < .seconds(18), "taken over after \(takeover)")
        let response = try await other.client.request("POST", "/v1/sync", body: Data("{}".utf8))
        let json = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
        #expect((json?["runs"] as? [[String: Any]])?.first?["outcome"] as? String == "no-changes", "\(response.text)")

        let handed = try String(contentsOfFile: other.log, encoding: .utf8).components(separatedBy: "sync handed to the directory's owner").count - 1
        #expect(handed == 1, "the other daemon's 25 triggers joined one flight, handed to the owner once")

        // A clean stop releases the lease at once.
        other.process?.signal(SIGTERM)
        await other.process?.waitForExit(timeout: .seconds(20))
        #expect(other.process?.exitCode == 0)
        #expect(try String(contentsOfFile: other.log, encoding: .utf8).contains("leases released"))
    }

    @Test("a daemon alone on a PostgreSQL store makes its on_start run (its first round of leases comes before it)")
    func startupRun() async throws {
        let harness = try await DaemonHarness()
        let (_, url, passwordFile) = try await SharedTestPostgres.shared.freshDatabase()
        let only = try Member(
            name: "daemon-only", harness: harness, storeURL: url, passwordFile: passwordFile,
            schedule: "    schedule:\n      every: 1h\n      on_start: true")
        defer { only.process?.killAndReap() }
        try await only.start()
        var runs: [[String: Any]] = []
        #expect(try await harness.eventually {
            let response = try await only.client.request("GET", "/v1/runs")
            runs = (try JSONSerialization.jsonObject(with: response.body) as? [String: Any])?["runs"] as? [[String: Any]] ?? []
            return runs.contains { $0["outcome"] as? String == "applied" }
        }, "no start-up run: \(runs) \((try? String(contentsOfFile: only.log, encoding: .utf8)) ?? "")")
        #expect(runs.count == 1 && runs.first?["trigger"] as? String == "startup", "\(runs)")
        #expect(try await only.landed("alice", "finance"))
    }

    @Test("watch mode: a change the dead owner's batch never applied is caught up by the daemon that takes over")
    func watchTakeover() async throws {
        let harness = try await DaemonHarness()
        let (_, url, passwordFile) = try await SharedTestPostgres.shared.freshDatabase()
        let schedule = "    schedule:\n      watch: true\n      batch_window: 1s"
        let a = try Member(name: "daemon-a", harness: harness, storeURL: url, passwordFile: passwordFile, schedule: schedule)
        let b = try Member(name: "daemon-b", harness: harness, storeURL: url, passwordFile: passwordFile, schedule: schedule)
        defer { a.process?.killAndReap(); b.process?.killAndReap() }
        try await a.start()
        try await b.start()
        let (owner, other) = try await Self.agreedOwner(a, b, harness)
        #expect(try await harness.eventually { try await other.landed("alice", "finance") })
        #expect(try await !other.landed("dave", "finance"))

        // The owner dies; the change comes while its lease still runs, so the other daemon's
        // watcher sees it and leaves the batch to the (dead) owner.
        owner.process?.signal(SIGKILL)
        await owner.process?.waitForExit()
        try harness.directory.modify("dn: cn=finance,ou=groups,dc=example,dc=com\nchangetype: modify\nadd: member\nmember: uid=dave,ou=people,dc=example,dc=com\n\n")
        #expect(try await harness.eventually { try await other.owner() == other.name })
        // Taking the directory over catches up: no further change is needed for dave to land.
        #expect(
            try await harness.eventually { try await other.landed("dave", "finance") },
            "\((try? String(contentsOfFile: other.log, encoding: .utf8))?.suffix(3000) ?? "")")
    }
}
