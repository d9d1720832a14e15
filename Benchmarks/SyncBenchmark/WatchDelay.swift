import Foundation
import GroupSyncDaemon
import LDAPTestSupport

/// The watch-mode part of the benchmark: `groupsync serve` with `watch: true` on the
/// benchmark's store, then 100 changes made with `ldapmodify` a few hundred milliseconds
/// apart — each adds a user to a group — and, for each, the time from the modify returning
/// until `GET /v1/verify` says the user landed in the group.
struct WatchDelay {
    let groupsync: String
    let work: URL
    let configPath: String
    let directory: TestDirectory
    let window: Duration

    /// The delays, sorted, and the CPU seconds the daemon used while the changes came.
    func run(changes: [(user: Int, group: Int)]) async throws -> (delays: [Double], daemonCPU: Double) {
        var config = try String(contentsOfFile: configPath, encoding: .utf8)
        config = config.replacingOccurrences(
            of: "    limits:\n", with: "    schedule:\n      watch: true\n      batch_window: \(window.components.seconds)s\n    limits:\n")
        config += "\nserver:\n  socket: store/watch.sock\n"
        let path = work.appendingPathComponent("groupsync-watch.yaml").path
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        let log = work.appendingPathComponent("watch.log").path
        // GROUPSYNC_BENCH_LOGS=DIR keeps the daemon's log (each batch run and its phases) and
        // prints each change's delay.
        let logs = ProcessInfo.processInfo.environment["GROUPSYNC_BENCH_LOGS"]
        let daemon = try SpawnedProcess(executable: groupsync, arguments: ["serve", "--config", path], logPath: log)
        defer {
            daemon.killAndReap()
            if let logs {
                try? FileManager.default.copyItem(atPath: log, toPath: URL(fileURLWithPath: logs).appendingPathComponent("watch.log").path)
            }
        }
        let deadline = ContinuousClock.now + .seconds(120)
        while !((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("watching for changes") {
            guard ContinuousClock.now < deadline, daemon.isRunning else { throw DaemonError("the watching daemon did not start") }
            try await Task.sleep(for: .milliseconds(100))
        }
        // Let the catch-up run on connecting finish.
        try await Task.sleep(for: .seconds(3))
        let client = DaemonClient(endpoint: .unix(work.appendingPathComponent("store/watch.sock").path), timeout: 30)
        func landed(_ change: (user: Int, group: Int)) async -> Bool {
            guard let response = try? await client.request("GET", "/v1/verify?user=u\(change.user)&group=g\(change.group)"), response.status == 200,
                  let json = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any],
                  let results = json["results"] as? [[String: Any]], !results.isEmpty
            else { return false }
            return results.allSatisfy { $0["landed"] as? Bool == true }
        }
        let cpuBefore = Self.cpuSeconds(daemon.pid)
        var pending: [(change: (user: Int, group: Int), at: ContinuousClock.Instant)] = []
        var delays: [Double] = []
        var next = 0
        var lastChange = ContinuousClock.now - .seconds(1)
        let giveUp = ContinuousClock.now + .seconds(600)
        while (next < changes.count || !pending.isEmpty) && ContinuousClock.now < giveUp {
            if next < changes.count && ContinuousClock.now - lastChange >= .milliseconds(300) {
                let change = changes[next]
                try directory.modify("dn: \(BenchmarkData.groupDN(change.group))\nchangetype: modify\nadd: member\nmember: \(BenchmarkData.userDN(change.user))\n\n")
                lastChange = ContinuousClock.now
                pending.append((change, lastChange))
                next += 1
            }
            var still: [(change: (user: Int, group: Int), at: ContinuousClock.Instant)] = []
            for item in pending {
                if await landed(item.change) {
                    delays.append(seconds(ContinuousClock.now - item.at))
                    if logs != nil {
                        print(String(format: "    watch: u%d in g%d after %.2f s (landed at %@)", item.change.user, item.change.group,
                                     delays.last!, "\(Date())"))
                    }
                } else {
                    still.append(item)
                }
            }
            pending = still
            try await Task.sleep(for: .milliseconds(20))
        }
        let cpu = Self.cpuSeconds(daemon.pid) - cpuBefore
        daemon.signal(SIGTERM)
        await daemon.waitForExit()
        guard delays.count == changes.count else { throw DaemonError("\(changes.count - delays.count) changes never landed") }
        return (delays.sorted(), cpu)
    }

    /// User and system CPU time of a running process (/proc/PID/stat, in clock ticks).
    static func cpuSeconds(_ pid: pid_t) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        // After the command name: state is field 3, utime 14 and stime 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
