import Foundation
import GroupSyncDaemon
import LDAPTestSupport

/// The API part of the benchmark: `groupsync serve` on the benchmark's store, and `wrk`
/// with 64 connections asking `GET /v1/verify` for users spread over the directory, over
/// TCP with the bearer token; for 30 s alone and for 30 s while full syncs run back to back
/// in the daemon (a 10-second window saw a single sync, and its p99 moved by a few
/// milliseconds from one window to the next).
struct APILoad {
    let groupsync: String
    let work: URL
    let configPath: String
    let users: Int

    struct Figures {
        var requestsPerSecond: Double
        var p50: String
        var p99: String
        var errors: Int
        var requests: Int
    }

    /// The daemon's memory (`/proc/PID/status`, MiB): resident with the index loaded, the
    /// peak while full syncs ran, and resident once they ended and their memory was handed back.
    struct Memory {
        var idle: Double
        var peak: Double
        var afterSyncs: Double
    }

    /// The load's length for the idle and the during-sync rows.
    static let window = 30

    func run() async throws -> (floor: Figures, idle: Figures, syncing: Figures, syncSeconds: [Double], memory: Memory) {
        let token = "bench-token-" + UUID().uuidString
        try writeSecret(token + "\n", to: work.appendingPathComponent("api-token"))
        let port = try freeLoopbackPort()
        var config = try String(contentsOfFile: configPath, encoding: .utf8)
        config += "\nserver:\n  socket: store/groupsync.sock\n  listen: 127.0.0.1:\(port)\n  token_file: api-token\n"
        let apiConfig = work.appendingPathComponent("groupsync-api.yaml").path
        try config.write(toFile: apiConfig, atomically: true, encoding: .utf8)
        let socket = work.appendingPathComponent("store/groupsync.sock").path
        let daemon = try SpawnedProcess(
            executable: groupsync, arguments: ["serve", "--config", apiConfig], logPath: work.appendingPathComponent("daemon.log").path)
        defer { daemon.killAndReap() }
        let deadline = ContinuousClock.now + .seconds(30)
        while !DaemonClient.answers(socket: socket) {
            guard ContinuousClock.now < deadline, daemon.isRunning else { throw DaemonError("the daemon did not start") }
            try await Task.sleep(for: .milliseconds(50))
        }
        let script = work.appendingPathComponent("verify.lua").path
        try """
            counter = 0
            request = function()
              counter = counter + 1
              local user = (counter * 7919) % \(users)
              return wrk.format("GET", "/v1/verify?user=u" .. user .. "&policy=Permitted%20Senders&group=g" .. (user % 1000),
                { ["Authorization"] = "Bearer \(token)" })
            end
            """.write(toFile: script, atomically: true, encoding: .utf8)
        let url = "http://127.0.0.1:\(port)"
        // Warm up until answers come from the in-memory index (built at start-up, a second or
        // two on 100,000 users; the store answers until then), then measure.
        let client = DaemonClient(endpoint: .unix(socket), timeout: 600)
        for _ in 0..<30 {
            _ = try wrk(url: url, script: script, seconds: 2)
            let metrics = try await client.request("GET", "/metrics").text
            if metrics.split(separator: "\n").contains(where: {
                $0.hasPrefix("groupsync_api_verify_answers_total{path=\"event_loop\"}") && !$0.hasSuffix(" 0")
            }) { break }
        }
        let idle = try wrk(url: url, script: script, seconds: Self.window)
        let residentIdle = Self.status(daemon.pid, "VmRSS:")
        // The floor: the same load on /healthz, which does no work.
        let floor = try wrk(url: url + "/healthz", script: nil, seconds: 10, token: token)
        // Full syncs back to back until the load ends. The run's thread is at nice 10: under
        // this load it gets little of the cores and takes several times as long as alone,
        // which the caller prints beside the figures.
        let loadEnds = ContinuousClock.now + .seconds(Self.window) + .milliseconds(200)
        let syncs = Task { () throws -> [Double] in
            var took: [Double] = []
            while ContinuousClock.now < loadEnds {
                let started = ContinuousClock.now
                _ = try await client.request("POST", "/v1/sync", body: Data(#"{"full": true}"#.utf8))
                took.append(seconds(ContinuousClock.now - started))
            }
            return took
        }
        try await Task.sleep(for: .milliseconds(200))
        let syncing = try wrk(url: url, script: script, seconds: Self.window)
        let took = try await syncs.value
        // Each full run's freed memory is handed back after it (groupsync_heap_trims_total).
        let trimmed = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < trimmed {
            let metrics = try await client.request("GET", "/metrics").text
            if metrics.contains("groupsync_heap_trims_total{after=\"full-run\"} \(took.count)") { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let memory = Memory(idle: residentIdle, peak: Self.status(daemon.pid, "VmHWM:"), afterSyncs: Self.status(daemon.pid, "VmRSS:"))
        daemon.signal(SIGTERM)
        await daemon.waitForExit()
        return (floor, idle, syncing, took, memory)
    }

    /// A `/proc/PID/status` field given in KiB, in MiB (0 when it cannot be read).
    static func status(_ pid: pid_t, _ field: String) -> Double {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix(field) }
        let kib = line.flatMap { Double($0.dropFirst(field.count).trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "") }
        return (kib ?? 0) / 1024
    }

    func wrk(url: String, script: String?, seconds: Int, token: String? = nil) throws -> Figures {
        var arguments = ["-t2", "-c64", "-d\(seconds)s", "--latency"]
        if let script { arguments += ["-s", script] }
        if let token { arguments += ["-H", "Authorization: Bearer \(token)"] }
        let output = try runCommand("wrk", arguments + [url])
        func value(after label: String) -> String? {
            output.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix(label) }
                .map { $0.trimmingCharacters(in: .whitespaces).dropFirst(label.count).trimmingCharacters(in: .whitespaces) }
        }
        let requests = output.split(separator: "\n").first { $0.contains("requests in") }
            .flatMap { Int($0.trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "") } ?? 0
        let non2xx = value(after: "Non-2xx or 3xx responses:").flatMap { Int($0) } ?? 0
        let socketErrors = value(after: "Socket errors:").map { text in
            text.split(separator: ",").compactMap { $0.split(separator: " ").last.flatMap { Int($0) } }.reduce(0, +)
        } ?? 0
        return Figures(
            requestsPerSecond: value(after: "Requests/sec:").flatMap { Double($0) } ?? 0,
            p50: value(after: "50%") ?? "?", p99: value(after: "99%") ?? "?", errors: non2xx + socketErrors, requests: requests)
    }
}
