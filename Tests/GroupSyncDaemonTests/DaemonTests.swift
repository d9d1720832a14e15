import Foundation
import GRDB
import GroupSync
import GroupSyncDaemon
import LDAPTestSupport
import SyncStore
import Testing

@Suite("groupsync serve: the API, single flight, signals, the CLI through the daemon", .tags(.slapd))
struct DaemonTests {
    @Test("100 simultaneous POST /v1/sync make exactly one run, and all 100 get its id")
    func singleFlight() async throws {
        let harness = try await DaemonHarness()
        try await harness.startDaemon()
        // Hold the directory so every request arrives while the run waits on it.
        await harness.directory.kill(SIGSTOP)
        let ids = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<100 {
                group.addTask {
                    let response = try await harness.post("/v1/sync")
                    let runs = try #require(try harness.json(response)["runs"] as? [[String: Any]], "\(response.text)")
                    return try #require(runs.first?["id"] as? Int)
                }
            }
            try await Task.sleep(for: .seconds(3))  // all 100 requests arrive while the run waits (the LDAP timeout is 5 s)
            harness.directory.signalNow(SIGCONT)
            var ids: [Int] = []
            for try await id in group { ids.append(id) }
            return ids
        }
        #expect(ids.count == 100)
        let recorded = try harness.store().runs().map { "\($0.id ?? 0) \($0.outcome) \($0.message ?? "")" }
        #expect(Set(ids).count == 1, "one run: \(Set(ids)) \(recorded)")
        #expect(try harness.store().runs().count == 1)
        #expect(await harness.stopDaemon() == 0)
    }

    @Test("groupsync sync while the daemon runs joins the daemon's run; status shows it")
    func cliThroughDaemon() async throws {
        // slapd is stopped while the CLI joins: on a loaded machine that took longer than the
        // harness's usual 5 s timeout once (the daemon's run failed, exit 3), so a long one.
        let harness = try await DaemonHarness(ldapTimeout: "60s")
        try await harness.startDaemon()
        await harness.directory.kill(SIGSTOP)
        let started = try harness.json(try await harness.post("/v1/sync", ["wait": false]))
        let runID = try #require((started["runs"] as? [[String: Any]])?.first?["id"] as? Int)
        let status = try harness.json(try await harness.get("/v1/status"))
        let corp = try #require((status["directories"] as? [[String: Any]])?.first)
        #expect(corp["running"] as? Bool == true)
        #expect(corp["running_run_id"] as? Int == runID)
        let cli = Task { try await harness.cli(["sync", "--json"]) }
        try await Task.sleep(for: .seconds(2))  // the CLI starts and joins while the run waits
        harness.directory.signalNow(SIGCONT)
        let result = try await cli.value
        #expect(result.status == 0, "\(result.stderr)")
        let runs = try #require((try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])?["runs"] as? [[String: Any]])
        #expect(runs.first?["id"] as? Int == runID, "the CLI got the daemon's run, not a second one")
        #expect(runs.first?["trigger"] as? String == "api")
        #expect(try harness.store().runs().count == 1)

        // Human output through the daemon is the same report, then status from the CLI.
        let text = try await harness.cli(["sync"])
        #expect(text.status == 0)
        #expect(text.stdout.contains("corp: no changes"))
        #expect(text.stderr.contains("running in the daemon"))
        let statusText = try await harness.cli(["status", "--json"])
        #expect(statusText.stdout.contains("\"daemon\" : true"))
        #expect(await harness.stopDaemon() == 0)
    }

    @Test("groupsync sync through the daemon prints the landing report of the run it made, not the one before")
    func cliLandingIsTheRunsOwn() async throws {
        let harness = try await DaemonHarness(ldapTimeout: "60s")
        // A filter intent: the daemon's landing evaluation, after the run's commit, searches
        // the directory — which the test holds stopped for a while right after the commit.
        let policies = DaemonHarness.policies + """

            intents:
              - name: Dave in finance
                filter: (uid=dave)
                expect:
                  - policy: Permitted Finance

            """
        try harness.config(policies: policies).write(toFile: harness.configPath, atomically: true, encoding: .utf8)
        try await harness.startDaemon()
        _ = try await harness.cli(["sync"])
        for round in 0..<2 {
            let joins = round == 0
            try harness.directory.modify("""
                dn: cn=finance,ou=groups,dc=example,dc=com
                changetype: modify
                \(joins ? "add" : "delete"): member
                member: uid=dave,ou=people,dc=example,dc=com

                """)
            let before = try harness.store().runs().first?.id
            let cli = Task { try await harness.cli(["sync", "--json"]) }
            // The run commits; its landings come after the directory answers again.
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                if let run = try harness.store().runs().first, run.id != before, run.outcome != .running { break }
                try await Task.sleep(for: .milliseconds(2))
            }
            await harness.directory.kill(SIGSTOP)
            try await Task.sleep(for: .seconds(1))
            harness.directory.signalNow(SIGCONT)
            let result = try await cli.value
            #expect(result.status == 0, "\(result.stderr)")
            let output = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            let runID = (output["runs"] as? [[String: Any]])?.first?["id"] as? Int
            let landing = try #require(output["landing"] as? [String: Any])
            #expect(landing["run_id"] as? Int == runID, "round \(round): the landing of run \(String(describing: landing["run_id"])), not of \(String(describing: runID))")
            let intent = try #require((landing["intents"] as? [[String: Any]])?.first)
            let landed = (intent["landed"] as? [[String: Any]] ?? []).compactMap { $0["user"] as? String }
            #expect(landed.contains { $0.contains("dave") } == joins, "round \(round): \(intent)")
        }
        #expect(await harness.stopDaemon() == 0)
    }

    @Test("SIGTERM during a run: the run is cancelled before apply, the store keeps its snapshot")
    func sigtermDuringRun() async throws {
        // slapd is stopped on purpose: a timeout longer than any load can stretch the test, so
        // the run ends by the SIGTERM's cancellation and not by the bind timing out first
        // (on a loaded CI machine the daemon took 7 s to act on the signal once; the timeout was 5 s).
        let harness = try await DaemonHarness(ldapTimeout: "2m")
        try await harness.startDaemon()
        _ = try await harness.post("/v1/sync")
        let before = try harness.store().totals(directory: "corp")
        try harness.directory.add([DirectoryFixture.person("erin")])
        await harness.directory.kill(SIGSTOP)
        let started = try harness.json(try await harness.post("/v1/sync", ["wait": false]))
        let runID = try #require((started["runs"] as? [[String: Any]])?.first?["id"] as? Int)
        harness.daemon?.signal(SIGTERM)
        #expect(try await harness.eventually { harness.log.contains("shutting down: cancelling runs in progress") })
        harness.directory.signalNow(SIGCONT)
        await harness.daemon?.waitForExit(timeout: .seconds(20))
        #expect(harness.daemon?.exitCode == 0, "\(harness.log)")
        let store = try harness.store()
        let run = try #require(try store.run(id: Int64(runID)))
        #expect(run.outcome == .failed)
        #expect(run.message?.contains("cancelled") == true, "\(run.message ?? "") \(harness.log)")
        #expect(try store.totals(directory: "corp") == before, "nothing half-applied")
        #expect(!FileManager.default.fileExists(atPath: harness.socket), "the socket is removed on shutdown")
    }

    @Test("SIGHUP: a broken configuration keeps the old one; a good one takes effect")
    func reload() async throws {
        let harness = try await DaemonHarness()
        try await harness.startDaemon()
        _ = try await harness.post("/v1/sync")
        try "directories: [oops".write(toFile: harness.configPath, atomically: true, encoding: .utf8)
        harness.daemon?.signal(SIGHUP)
        #expect(try await harness.eventually { harness.log.contains("configuration reload failed") })
        #expect(harness.daemon?.isRunning == true)
        let verify = try await harness.get("/v1/verify?user=alice&policy=Permitted%20Finance")
        #expect(verify.status == 200, "the old configuration still answers: \(verify.text)")

        let renamed = DaemonHarness.policies.replacingOccurrences(of: "Permitted Finance", with: "Permitted Senders")
        try harness.config(policies: renamed).write(toFile: harness.configPath, atomically: true, encoding: .utf8)
        harness.daemon?.signal(SIGHUP)
        #expect(try await harness.eventually { try await harness.get("/v1/verify?user=alice&policy=Permitted%20Senders").status == 200 })
        #expect(try await harness.get("/v1/verify?user=alice&policy=Permitted%20Finance").status == 400)
        #expect(await harness.stopDaemon() == 0)
    }

    @Test("TCP needs the bearer token (401 without or wrong); the socket is mode 0660; a second daemon is refused")
    func security() async throws {
        let harness = try await DaemonHarness(tcp: true)
        try await harness.startDaemon()
        let tcp = DaemonClient(endpoint: .tcp(host: "127.0.0.1", port: harness.port), timeout: 10)
        #expect(try await tcp.request("GET", "/v1/status").status == 401)
        #expect(try await tcp.request("GET", "/healthz").status == 401)
        let wrong = DaemonClient(endpoint: .tcp(host: "127.0.0.1", port: harness.port), token: "test-token-0123456789abcdeX", timeout: 10)
        #expect(try await wrong.request("GET", "/v1/status").status == 401)
        let right = DaemonClient(endpoint: .tcp(host: "127.0.0.1", port: harness.port), token: harness.token, timeout: 10)
        #expect(try await right.request("GET", "/v1/status").status == 200)
        #expect(try await harness.get("/v1/status").status == 200, "the socket needs no token")

        let mode = try #require(try FileManager.default.attributesOfItem(atPath: harness.socket)[.posixPermissions] as? Int)
        #expect(mode & 0o777 == 0o660)

        let second = try await harness.cli(["serve"])
        #expect(second.status == 3)
        #expect(second.stderr.contains("another groupsync serve answers"))
        #expect(DaemonClient.answers(socket: harness.socket), "the first daemon keeps its socket")
        #expect(await harness.stopDaemon() == 0)
    }

    @Test("runs execute on a thread of their own, at a lower priority than the API's")
    func runThread() async throws {
        let harness = try await DaemonHarness()
        try await harness.startDaemon()
        #expect(try await harness.post("/v1/sync").status == 200)
        let pid = try #require(harness.daemon?.pid)
        /// Each thread's name and nice value, from /proc/PID/task/TID/stat ("tid (comm) state …",
        /// nice is the 19th field).
        func threads() -> [(name: String, nice: Int)] {
            let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
            return tasks.compactMap { task in
                guard let stat = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/stat", encoding: .utf8),
                      let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")")
                else { return nil }
                let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
                return (String(stat[stat.index(after: open)..<close]), Int(fields[16]) ?? 0)
            }
        }
        #expect(try await harness.eventually { threads().contains { $0.name == "groupsync-runs" && $0.nice == 10 } }, "\(threads())")
        // Only the run thread, and an LDAP connection thread it started, run below normal
        // priority (libdispatch raises some of its own threads: nice < 0 is its doing).
        let lowered = threads().filter { $0.nice > 0 }
        #expect(lowered.allSatisfy { $0.name == "groupsync-runs" || $0.name.hasPrefix("ldap ") }, "\(threads())")
        // On kernels that take a thread's own scheduler slice (EEVDF, Linux 6.12 and later),
        // the run thread asks for 0.1 ms; the event loops keep the default.
        if Self.kernelTakesCustomSlices() {
            let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")
            func slice(_ task: String) -> Int? {
                (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/sched", encoding: .utf8))?
                    .split(separator: "\n").first { $0.hasPrefix("se.slice") }
                    .flatMap { $0.split(separator: ":").last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } }
            }
            func name(_ task: String) -> String {
                ((try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/comm", encoding: .utf8)) ?? "").trimmingCharacters(in: .newlines)
            }
            let runs = tasks.filter { name($0) == "groupsync-runs" }
            #expect(!runs.isEmpty && runs.allSatisfy { slice($0) == 100_000 }, "\(runs.map { (name($0), slice($0)) })")
            let loops = tasks.filter { name($0).hasPrefix("NIO-") }
            #expect(!loops.isEmpty && loops.allSatisfy { (slice($0) ?? 0) > 100_000 }, "\(loops.map { (name($0), slice($0)) })")
        }
        #expect(await harness.stopDaemon() == 0)
    }

    /// Linux 6.12 or later (`uname -r`).
    static func kernelTakesCustomSlices() -> Bool {
        var names = utsname()
        uname(&names)
        let release = withUnsafeBytes(of: &names.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        guard parts.count == 2 else { return false }
        return (parts[0], parts[1]) >= (6, 12)
    }

    @Test("/metrics is Prometheus text and moves after a run; healthz and readyz")
    func metrics() async throws {
        let harness = try await DaemonHarness()
        try await harness.startDaemon()
        #expect(try await harness.get("/healthz").status == 200)
        #expect(try await harness.get("/readyz").status == 200)
        _ = try await harness.post("/v1/sync")
        _ = try await harness.post("/v1/sync")
        let text = try await harness.get("/metrics").text
        let sample = try Regex(#"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+0-9.eE]+(Inf|NaN)?$"#)
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            #expect(line.wholeMatch(of: sample) != nil, "not a Prometheus sample: \(line)")
        }
        #expect(text.contains(#"groupsync_runs_total{directory="corp",mode="full",outcome="applied"} 1"#), "\(text)")
        #expect(text.contains(#"groupsync_runs_total{directory="corp",mode="incremental",outcome="no-changes"} 1"#), "\(text)")
        #expect(text.contains(#"groupsync_users{directory="corp"} 4"#))
        #expect(text.contains("groupsync_run_duration_seconds_bucket"))
        #expect(text.contains("# TYPE groupsync_runs_total counter"))
        let resident = text.split(separator: "\n").first { $0.hasPrefix("process_resident_memory_bytes ") }
        #expect((resident.flatMap { Double($0.split(separator: " ")[1]) } ?? 0) > 10_000_000, "\(text)")
        // The full run's freed memory is handed back to the kernel after it (the trim comes
        // after the run's answer); the incremental run trims nothing.
        #expect(try await harness.eventually {
            try await harness.get("/metrics").text.contains(#"groupsync_heap_trims_total{after="full-run"} 1"#)
        })
        #expect(try await harness.get("/metrics").text.contains("groupsync_heap_released_bytes_total "))
        // The applied run's pages reach the database file itself (the daemon checkpoints the
        // WAL after a run; its commit left them in the WAL).
        let database = harness.folder.appendingPathComponent("var/groupsync.sqlite").path
        #expect(try await harness.eventually { try Self.usersInDatabaseFile(database) == 4 })
        #expect(await harness.stopDaemon() == 0)
    }

    /// The users the database file holds on disk, its WAL ignored (`immutable=1`).
    static func usersInDatabaseFile(_ path: String) throws -> Int? {
        var configuration = Configuration()
        configuration.readonly = true
        return try DatabaseQueue(path: "file:\(path)?immutable=1", configuration: configuration).read { db in
            try db.tableExists("user") ? try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \"user\"") : nil
        }
    }

    @Test("verify and explain through the API equal the command line")
    func verifyParity() async throws {
        let harness = try await DaemonHarness()
        try await harness.startDaemon()
        _ = try await harness.post("/v1/sync")
        let api = try harness.json(try await harness.get("/v1/verify?user=alice&policy=Permitted%20Finance&group=sales"))
        let cli = try await harness.cli(["verify", "alice", "--policy", "Permitted Finance", "--group", "sales", "--json"])
        #expect(cli.status == 1)
        let local = try #require(try JSONSerialization.jsonObject(with: Data(cli.stdout.utf8)) as? [String: Any])
        #expect(NSDictionary(dictionary: api["user"] as! [String: Any]) == NSDictionary(dictionary: local["user"] as! [String: Any]))
        #expect(NSArray(array: api["results"] as! [Any]) == NSArray(array: local["results"] as! [Any]))
        let remote = try await harness.cli(["verify", "alice", "--policy", "Permitted Finance", "--server", "http://127.0.0.1:1"])
        #expect(remote.status == 3, "an unreachable --server is exit 3")

        let explainAPI = try harness.json(try await harness.get("/v1/explain?user=alice"))
        let explainCLI = try await harness.cli(["explain", "alice", "--json"])
        let explainLocal = try #require(try JSONSerialization.jsonObject(with: Data(explainCLI.stdout.utf8)) as? [String: Any])
        #expect(NSArray(array: explainAPI["groups"] as! [Any]) == NSArray(array: explainLocal["groups"] as! [Any]))
        #expect(NSArray(array: explainAPI["policies"] as! [Any]) == NSArray(array: explainLocal["policies"] as! [Any]))
        #expect(try await harness.get("/v1/explain?user=nobody").status == 404)
        #expect(try await harness.get("/v1/verify?user=alice&policy=Nope").status == 400)
        #expect(await harness.stopDaemon() == 0)
    }
}
