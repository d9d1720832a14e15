// `make benchmark`: a 100,000-user directory in a throwaway slapd (with syncprov); measures
// the raw ldapsearch dump of the same entries and attributes, a first `groupsync sync` into
// an empty store, unchanged re-syncs (full and incremental), runs after 1,000 membership
// changes (incremental, and full after another 1,000) — wall time and peak memory of each,
// with the ratios to the raw dump — then verification latencies, the daemon's index after a
// run, the API under load, and watch mode's delay from an ldapmodify to an answering verify.
import Foundation
import GroupSync
import LDAPTestSupport
import SyncConfig
import SyncStore

func say(_ text: String) { FileHandle.standardOutput.write(Data((text + "\n").utf8)) }

// GROUPSYNC_BENCH_ANSWERS=CONFIG: only the cost of answering from the in-memory index, on
// the store a held benchmark (GROUPSYNC_BENCH_HOLD) left behind, for profiling it.
if let answersConfig = ProcessInfo.processInfo.environment["GROUPSYNC_BENCH_ANSWERS"] {
    // GROUPSYNC_BENCH_ANSWER_THREADS=N asks from N threads at once (the daemon's event loops).
    let threads = ProcessInfo.processInfo.environment["GROUPSYNC_BENCH_ANSWER_THREADS"].flatMap(Int.init) ?? 1
    // GROUPSYNC_BENCH_ANSWER_QUERIES=N asks N questions per thread (200,000 by default; fewer under callgrind).
    let queries = ProcessInfo.processInfo.environment["GROUPSYNC_BENCH_ANSWER_QUERIES"].flatMap(Int.init) ?? 200_000
    let figures = try IndexAnswers(configPath: answersConfig, users: BenchmarkData().users).run(queries: max(100, queries), threads: max(1, threads))
    say(String(format: "verify from the in-memory index on %d thread(s): %.1f µs per answer with its JSON, p99 %.0f µs, slowest %.0f µs (%d answers; index built in %.1f s)",
        max(1, threads), figures.microsecondsPerAnswer, figures.p99, figures.max, figures.answers, figures.buildSeconds))
    exit(0)
}

let arguments = CommandLine.arguments.dropFirst()
var data = BenchmarkData()
if let scale = arguments.first.flatMap(Double.init) {
    data.users = Int(Double(data.users) * scale)
    data.groups = Int(Double(data.groups) * scale)
    data.memberValues = Int(Double(data.memberValues) * scale)
}
let binDir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
let groupsync = binDir.appendingPathComponent("groupsync").path
let work = FileManager.default.temporaryDirectory.appendingPathComponent("groupsync-bench-\(getpid())")
try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: work) }  // keep nothing behind

say("generating \(data.users) users, \(data.groups) groups, \(data.memberValues) member values …")
var clock = ContinuousClock.now
let ldif = work.appendingPathComponent("bench.ldif").path
let members = try data.write(to: ldif)
say(String(format: "  LDIF written in %.1f s", seconds(ContinuousClock.now - clock)))
clock = ContinuousClock.now
let directory = try await TestDirectory.start(DirectoryFixture(entries: DirectoryFixture.skeleton(), ldifFile: ldif))
say(String(format: "  loaded into slapd with slapadd -q in %.1f s", seconds(ContinuousClock.now - clock)))
try? FileManager.default.removeItem(atPath: ldif)
// A write the access log records before the first sync (the bind account's description): a
// log in use reaches back past every position a run keeps, and incremental runs can take
// member changes from it (`incremental.access_log`); an empty log cannot show it missed nothing.
try directory.modify("dn: \(DirectoryFixture.serviceDN)\nchangetype: modify\nreplace: description\ndescription: groupsync's bind account\n")

try writeSecret(DirectoryFixture.servicePassword + "\n", to: work.appendingPathComponent("password"))
// GROUPSYNC_BENCH_STORE=postgres (`make benchmark-postgres`): the same steps with the store
// on a throwaway PostgreSQL server (initdb on a loopback port, fsync off).
let postgres = ProcessInfo.processInfo.environment["GROUPSYNC_BENCH_STORE"] == "postgres" ? try await TestPostgres.start() : nil
if let postgres { try writeSecret(postgres.password + "\n", to: work.appendingPathComponent("pg-password")) }
let storeSection = postgres.map {
    "store:\n  postgres:\n    url: \($0.url)\n    password_file: pg-password\n    tls:\n      mode: disable\n"
} ?? "store:\n  path: store/groupsync.sqlite\n"
try FileManager.default.createDirectory(at: work.appendingPathComponent("store"), withIntermediateDirectories: true)
say("  store: \(postgres == nil ? "SQLite" : "PostgreSQL (\(postgres!.url))")")
try """
    \(storeSection)
    directories:
      - name: bench
        url: \(directory.ldapURL)
        bind:
          dn: \(DirectoryFixture.serviceDN)
          password_file: password
        page_size: 1000
        timeout: 2m
        users:
          base: \(BenchmarkData.people)
          filter: (objectClass=inetOrgPerson)
        groups:
          base: \(BenchmarkData.groupsBase)
          filter: (objectClass=groupOfNames)
        incremental:
          access_log: cn=accesslog
        limits:
          max_membership_deletions: 100%

    profile_groups:
      - name: Permitted Senders
        members:
          - group: g0
          - group: cn=g7,ou=groups,dc=example,dc=com
          - domain: partner.example
    policies:
      - name: Permitted Senders
        type: permitted-senders
        targets:
          - profile_group: Permitted Senders
      - name: Blocked Senders
        type: blocked-senders
        targets:
          - group: g1
          - group: g42
      - name: Content Examination
        type: content-examination
      - name: Examination Bypass
        type: content-examination-bypass
        targets:
          - group: g2

    """.write(to: work.appendingPathComponent("groupsync.yaml"), atomically: true, encoding: .utf8)
let config = ["--config", work.appendingPathComponent("groupsync.yaml").path]
// The same directory read without content synchronization (a server without syncprov, or
// `incremental: {method: off}`): every run is full, and groups whose entryCSN did not move
// are not fetched with their members.
let configText = try String(contentsOf: work.appendingPathComponent("groupsync.yaml"), encoding: .utf8)
let accessLogLine = "      access_log: cn=accesslog\n"
let fullConfigText = configText.replacingOccurrences(of: accessLogLine, with: "      method: off\n")
precondition(fullConfigText != configText, "the benchmark configuration has no access_log key to turn incremental runs off at")
try fullConfigText.write(to: work.appendingPathComponent("groupsync-full.yaml"), atomically: true, encoding: .utf8)
let fullConfig = ["--config", work.appendingPathComponent("groupsync-full.yaml").path]

/// Writes a configuration whose SQLite store is in `folder` (optionally without the access
/// log); returns the `--config` arguments.
func storeConfig(in folder: String, withoutAccessLog: Bool = false) throws -> [String] {
    var text = configText.replacingOccurrences(of: "path: store/groupsync.sqlite", with: "path: \(folder)/groupsync.sqlite")
    if withoutAccessLog { text = text.replacingOccurrences(of: "    incremental:\n" + accessLogLine, with: "") }
    let path = work.appendingPathComponent("groupsync-\(folder).yaml")
    try text.write(to: path, atomically: true, encoding: .utf8)
    return ["--config", path.path]
}

/// Copies the SQLite store (its file, WAL and shared memory: no process has it open) to
/// `folder`, and writes a configuration that uses the copy (``storeConfig(in:withoutAccessLog:)``).
func copyStore(named folder: String, withoutAccessLog: Bool) throws -> [String] {
    let files = FileManager.default
    let source = work.appendingPathComponent("store"), target = work.appendingPathComponent(folder)
    try? files.removeItem(at: target)
    try files.createDirectory(at: target, withIntermediateDirectories: true)
    for name in try files.contentsOfDirectory(atPath: source.path) where name.hasPrefix("groupsync.sqlite") {
        try files.copyItem(at: source.appendingPathComponent(name), to: target.appendingPathComponent(name))
    }
    return try storeConfig(in: folder, withoutAccessLog: withoutAccessLog)
}

struct Measurement {
    var name: String
    var seconds: Double
    var peakMiB: Double
}

/// Runs a command with standard output to /dev/null; wall time and peak RSS from wait4.
func measure(_ executable: String, _ arguments: [String]) throws -> (Double, Double) {
    let started = ContinuousClock.now
    // GROUPSYNC_BENCH_LOGS=DIR keeps each step's log there (for profiling a step).
    let logs = ProcessInfo.processInfo.environment["GROUPSYNC_BENCH_LOGS"]
    let logPath = logs.map { "\($0)/\(URL(fileURLWithPath: executable).lastPathComponent)-\(arguments.prefix(2).joined(separator: "-"))-\(UUID().uuidString.prefix(4)).log" }
    let verbose = logs != nil && executable.hasSuffix("/groupsync") ? ["--verbose"] : []
    let child = try SpawnedProcess(executable: executable, arguments: arguments + verbose, logPath: logPath ?? "/dev/null")
    let (status, usage) = child.waitWithUsage()
    guard status == 0 else { throw CommandError(command: executable, status: status, output: "", errorOutput: "benchmark step failed") }
    return (seconds(ContinuousClock.now - started), Double(usage.ru_maxrss) / 1024)
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

let ldapsearch = try resolveExecutable("ldapsearch")
let common = ["-x", "-H", directory.ldapURL, "-D", DirectoryFixture.serviceDN, "-w", DirectoryFixture.servicePassword, "-LLL", "-E", "pr=1000/noprompt"]
// The attributes groupsync asks for (AttributeMapping.openLDAP).
let userAttributes = ["entryUUID", "uid", "mail", "cn", "mailAlternateAddress"]
let groupAttributes = ["entryUUID", "cn", "mail", "member", "uniqueMember", "memberUid"]

var results: [Measurement] = []
// GROUPSYNC_BENCH_REPEAT=N (3 by default): the raw dump and the initial sync, whose ratio is
// the headline, are each measured N times and reported by their medians (peak memory: the
// largest). On this project's shared 2-core machine one measurement of the same binary
// varies by up to half again from run to run; a median of three steadies the ratio.
let repeats = max(1, ProcessInfo.processInfo.environment["GROUPSYNC_BENCH_REPEAT"].flatMap(Int.init) ?? 3)
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}
func listed(_ values: [Double]) -> String { values.map { String(format: "%.2f", $0) }.joined(separator: ", ") }

// Taken in turns (a dump, then an initial sync), so a slower spell of the machine falls on
// both. The initial syncs write stores of their own (SQLite; PostgreSQL has one database,
// so one initial sync), the last the store the later steps use.
var rawSamples: [Double] = [], rawMiB = 0.0
var initialSamples: [Double] = [], initialMiB = 0.0
for attempt in 0..<repeats {
    let (usersSeconds, usersMiB) = try measure(ldapsearch, common + ["-b", BenchmarkData.people, "(objectClass=inetOrgPerson)"] + userAttributes)
    let (groupsSeconds, groupsMiB) = try measure(ldapsearch, common + ["-b", BenchmarkData.groupsBase, "(objectClass=groupOfNames)"] + groupAttributes)
    rawSamples.append(usersSeconds + groupsSeconds)
    rawMiB = max(rawMiB, usersMiB, groupsMiB)
    let last = attempt == repeats - 1
    guard last || postgres == nil else { continue }
    let folder = "first-\(attempt)"
    let (seconds, memory) = try measure(groupsync, ["sync"] + (last ? config : try storeConfig(in: folder)))
    initialSamples.append(seconds)
    initialMiB = max(initialMiB, memory)
    if !last { try FileManager.default.removeItem(at: work.appendingPathComponent(folder)) }
}
results.append(Measurement(name: "raw dump (ldapsearch, paged 1000)", seconds: median(rawSamples), peakMiB: rawMiB))
say(String(format: "  raw dump: %.2f s (median of %@ s)", results[0].seconds, listed(rawSamples)))
var (time, memory) = (median(initialSamples), initialMiB)
results.append(Measurement(name: "initial sync into an empty store", seconds: time, peakMiB: memory))
say(String(format: "  initial sync: %.2f s (median of %@ s)", time, listed(initialSamples)))
(time, memory) = try measure(groupsync, ["sync", "--full"] + config)
results.append(Measurement(name: "unchanged re-sync, full (--full)", seconds: time, peakMiB: memory))
say(String(format: "  unchanged re-sync, full: %.2f s", time))
(time, memory) = try measure(groupsync, ["sync"] + fullConfig)
results.append(Measurement(name: "unchanged re-sync, full run (no syncprov: unchanged users and groups skipped)", seconds: time, peakMiB: memory))
say(String(format: "  unchanged re-sync, full run skipping unchanged users and groups: %.2f s", time))
(time, memory) = try measure(groupsync, ["sync"] + config)
results.append(Measurement(name: "unchanged re-sync, incremental", seconds: time, peakMiB: memory))
say(String(format: "  unchanged re-sync, incremental: %.2f s", time))

// 1,000 membership changes: 500 removals and 500 additions across the small groups.
var random = SplitMix64(seed: 7)
var current = members.mapValues(Set.init)
@MainActor func membershipChanges(offset: Int) -> String {
    var changes = ""
    for index in 0..<500 {
        let group = 6 + (index * 17 + offset) % (data.groups - 7)
        if let member = current[group]?.first {
            current[group]?.remove(member)
            changes += "dn: \(BenchmarkData.groupDN(group))\nchangetype: modify\ndelete: member\nmember: \(BenchmarkData.userDN(member))\n\n"
        }
        var newcomer = Int(random.next() % UInt64(data.users))
        while current[group + 1, default: []].contains(newcomer) { newcomer = (newcomer + 1) % data.users }
        current[group + 1, default: []].insert(newcomer)
        changes += "dn: \(BenchmarkData.groupDN(group + 1))\nchangetype: modify\nadd: member\nmember: \(BenchmarkData.userDN(newcomer))\n\n"
    }
    return changes
}
try directory.modify(membershipChanges(offset: 0))
// The same run without the access log (each changed group read again and compared with its
// stored members), on a copy of the store: SQLite only.
let wholeConfig = postgres == nil ? try copyStore(named: "store-whole", withoutAccessLog: true) : nil
(time, memory) = try measure(groupsync, ["sync"] + config)
results.append(Measurement(name: "incremental run after 1,000 membership changes (from the access log)", seconds: time, peakMiB: memory))
let incrementalSeconds = time
say(String(format: "  incremental run after 1,000 changes: %.2f s", time))
if let wholeConfig {
    (time, memory) = try measure(groupsync, ["sync"] + wholeConfig)
    results.append(Measurement(name: "the same run without the access log (changed groups read whole)", seconds: time, peakMiB: memory))
    say(String(format: "  the same run without the access log: %.2f s", time))
}
let wholeGroupsSeconds = wholeConfig == nil ? nil : time
try directory.modify(membershipChanges(offset: 3))
(time, memory) = try measure(groupsync, ["sync", "--full"] + config)
results.append(Measurement(name: "full run after another 1,000 membership changes", seconds: time, peakMiB: memory))
let fullSeconds = time
say(String(format: "  full run after 1,000 changes: %.2f s", time))
if ProcessInfo.processInfo.environment["GROUPSYNC_BENCH_SYNC_ONLY"] != nil {
    // Profiling the sync steps: stop here.
    for result in results {
        say(String(format: "| %@ | %.2f s | %.2f | %.0f MiB |", result.name, result.seconds, result.seconds / results[0].seconds, result.peakMiB))
    }
    say(String(format: "incremental / full after 1,000 changes: %.1f%%", incrementalSeconds / fullSeconds * 100))
    if let hold = ProcessInfo.processInfo.environment["GROUPSYNC_BENCH_HOLD"], let seconds = Int(hold) {
        say("holding the directory for \(seconds) s: \(directory.ldapURL), configs \(config[1]) and \(fullConfig[1])")
        try await Task.sleep(for: .seconds(seconds))
    }
    await directory.stop()
    exit(0)
}


// Verification queries, in-process from the store just written (no process start): verify
// (a policy through a profile group, and a group) and explain, for 1,000 users.
let loaded = try ConfigLoader.load(path: config[1])
let store = try loaded.store.open()
clock = ContinuousClock.now
let service = try VerificationService(config: loaded, store: store)
let resolveMs = seconds(ContinuousClock.now - clock) * 1000
var verifyLatencies: [Double] = []
var explainLatencies: [Double] = []
var landed = 0
var groupsSeen = 0
// GROUPSYNC_BENCH_QUERY_ROUNDS repeats the queries (for profiling them).
let rounds = ProcessInfo.processInfo.environment["GROUPSYNC_BENCH_QUERY_ROUNDS"].flatMap(Int.init) ?? 1
for index in (0..<rounds).flatMap({ _ in stride(from: 0, to: data.users, by: max(1, data.users / 1000)) }) {
    let user = "u\(index)"
    var started = ContinuousClock.now
    let answer = try await service.verify(user, targets: [.policy("Permitted Senders"), .group("g\(index % data.groups)")])
    verifyLatencies.append(seconds(ContinuousClock.now - started) * 1000)
    landed += answer.results.filter(\.landed).count
    started = ContinuousClock.now
    let explained = try service.explain(user)
    explainLatencies.append(seconds(ContinuousClock.now - started) * 1000)
    groupsSeen += explained.answer?.groups.count ?? 0
}
verifyLatencies.sort()
explainLatencies.sort()
func percentile(_ values: [Double], _ share: Double) -> Double { values[min(values.count - 1, Int(Double(values.count) * share))] }

// What answering costs the daemon per request, from its in-memory index (no HTTP).
let indexAnswers = try IndexAnswers(configPath: config[1], users: data.users).run(queries: 100_000)

// The daemon's index after a run that changed 1,000 memberships: the run's plan written into
// it, against reading it again from the store.
say("  the in-memory index after 1,000 membership changes …")
let indexPatch = try await IndexPatch(configPath: config[1]).run(changes: membershipChanges(offset: 6), directory: directory)

// The HTTP API under load (wrk, 64 connections), without and with a sync running.
say("  API load (wrk, 64 connections, 10 s on /healthz, \(APILoad.window) s idle and \(APILoad.window) s during syncs) …")
let api = try await APILoad(groupsync: groupsync, work: work, configPath: config[1], users: data.users).run()

// Watch mode: 100 changes, 300 ms apart; delay until verify answers.
say("  watch mode (100 changes) …")
var watchChanges: [(user: Int, group: Int)] = []
for index in 0..<100 {
    let group = 7 + (index * 13) % (data.groups - 8)
    var user = (index * 7919 + 11) % data.users
    while current[group, default: []].contains(user) { user = (user + 1) % data.users }
    current[group, default: []].insert(user)
    watchChanges.append((user, group))
}
let watchWindow: Duration = .seconds(1)
let (watchDelays, watchCPU) = try await WatchDelay(groupsync: groupsync, work: work, configPath: config[1], directory: directory, window: watchWindow)
    .run(changes: watchChanges)

let raw = results[0].seconds
say("\n| step | wall time | × raw dump | peak memory |")
say("| --- | ---: | ---: | ---: |")
for result in results {
    say(String(format: "| %@ | %.2f s | %.2f | %.0f MiB |", result.name, result.seconds, result.seconds / raw, result.peakMiB))
}
say(String(format: "\nincremental / full after 1,000 changes: %.1f%% (target ≤ 5%%)", incrementalSeconds / fullSeconds * 100))
if let wholeGroupsSeconds {
    say(String(format: "  without the access log (changed groups read whole): %.1f%%", wholeGroupsSeconds / fullSeconds * 100))
}
say(String(format: "watch mode, ldapmodify → verify answers (batch window %llds, %d changes): median %.2f s, p99 %.2f s, max %.2f s (target p99 ≤ window + 1 s)",
    watchWindow.components.seconds, watchDelays.count, percentile(watchDelays, 0.5), percentile(watchDelays, 0.99), watchDelays.last ?? 0))
say(String(format: "  the daemon used %.1f s of CPU while the changes came", watchCPU))
say("\n| query (in-process, \(verifyLatencies.count) users) | median | p99 |")
say("| --- | ---: | ---: |")
say(String(format: "| verify USER --policy P --group G | %.2f ms | %.2f ms |", percentile(verifyLatencies, 0.5), percentile(verifyLatencies, 0.99)))
say(String(format: "| explain USER | %.2f ms | %.2f ms |", percentile(explainLatencies, 0.5), percentile(explainLatencies, 0.99)))
say(String(
    format: "(%.1f groups per user on average; %d of %d targets landed; resolving the policies once: %.1f ms)",
    Double(groupsSeen) / Double(explainLatencies.count), landed, verifyLatencies.count * 2, resolveMs))
say(String(format: "verify from the daemon's in-memory index, with its JSON (the work of one API answer, in-process): %.1f µs, p99 %.0f µs, slowest %.0f µs",
    indexAnswers.microsecondsPerAnswer, indexAnswers.p99, indexAnswers.max))
say(String(format: "the daemon's index after a run that changed %d memberships: the plan written into it in %.1f ms; read again from the store in %.2f s",
    indexPatch.memberships, indexPatch.patchMilliseconds, indexPatch.rebuildSeconds))
say("\n| GET /v1/verify over TCP, 64 connections | requests/s | p50 | p99 | errors |")
say("| --- | ---: | ---: | ---: | ---: |")
for (name, figures) in [("GET /healthz (no work: the floor)", api.floor), ("daemon idle", api.idle), ("while a full sync runs", api.syncing)] {
    say(String(format: "| %@ | %.0f | %@ | %@ | %d of %d |", name, figures.requestsPerSecond, figures.p50, figures.p99, figures.errors, figures.requests))
}
say(String(
    format: "(the last row: %d full syncs back to back from 0.2 s into its %d s of load, %@ s each; the run's thread is at nice 10)",
    api.syncSeconds.count, APILoad.window, api.syncSeconds.map { String(format: "%.1f", $0) }.joined(separator: ", ")))
say(String(
    format: "the daemon's memory: %.0f MiB resident with the index loaded, %.0f MiB at the peak of the full syncs, %.0f MiB resident after them",
    api.memory.idle, api.memory.peak, api.memory.afterSyncs))
say("\n(\(data.users) users, \(data.groups) groups, \(data.memberValues) member values; \(ProcessInfo.processInfo.activeProcessorCount) cores)")
if let hold = ProcessInfo.processInfo.environment["GROUPSYNC_BENCH_HOLD"], let seconds = Int(hold) {
    say("holding the directory for \(seconds) s: \(directory.ldapURL), config \(config[1])")
    try await Task.sleep(for: .seconds(seconds))
}
await directory.stop()
