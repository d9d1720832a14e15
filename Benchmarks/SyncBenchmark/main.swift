// `make benchmark`: a 100,000-user directory in a throwaway slapd; measures the raw
// ldapsearch dump of the same entries and attributes, a first `groupsync sync` into an
// empty store, an unchanged re-sync, and a re-sync after 1,000 membership changes — wall
// time and peak memory of each — and prints the ratios to the raw dump.
import Foundation
import LDAPTestSupport
import SyncStore

func say(_ text: String) { FileHandle.standardOutput.write(Data((text + "\n").utf8)) }

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

try Data((DirectoryFixture.servicePassword + "\n").utf8).write(to: work.appendingPathComponent("password"))
try """
    store:
      path: store/groupsync.sqlite
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
        limits:
          max_membership_deletions: 100%

    """.write(to: work.appendingPathComponent("groupsync.yaml"), atomically: true, encoding: .utf8)
let config = ["--config", work.appendingPathComponent("groupsync.yaml").path]

struct Measurement {
    var name: String
    var seconds: Double
    var peakMiB: Double
}

/// Runs a command with standard output to /dev/null; wall time and peak RSS from wait4.
func measure(_ executable: String, _ arguments: [String]) throws -> (Double, Double) {
    let started = ContinuousClock.now
    let child = try SpawnedProcess(executable: executable, arguments: arguments, logPath: "/dev/null")
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
let (usersSeconds, usersMiB) = try measure(ldapsearch, common + ["-b", BenchmarkData.people, "(objectClass=inetOrgPerson)"] + userAttributes)
let (groupsSeconds, groupsMiB) = try measure(ldapsearch, common + ["-b", BenchmarkData.groupsBase, "(objectClass=groupOfNames)"] + groupAttributes)
results.append(Measurement(name: "raw dump (ldapsearch, paged 1000)", seconds: usersSeconds + groupsSeconds, peakMiB: max(usersMiB, groupsMiB)))
say(String(format: "  raw dump: %.2f s", results[0].seconds))

var (time, memory) = try measure(groupsync, ["sync"] + config)
results.append(Measurement(name: "initial sync into an empty store", seconds: time, peakMiB: memory))
say(String(format: "  initial sync: %.2f s", time))
(time, memory) = try measure(groupsync, ["sync"] + config)
results.append(Measurement(name: "unchanged re-sync", seconds: time, peakMiB: memory))
say(String(format: "  unchanged re-sync: %.2f s", time))

// 1,000 membership changes: 500 removals and 500 additions across the small groups.
var changes = ""
var random = SplitMix64(seed: 7)
var current = members.mapValues(Set.init)
for index in 0..<500 {
    let group = 6 + (index * 17) % (data.groups - 7)
    if let member = current[group]?.first {
        current[group]?.remove(member)
        changes += "dn: \(BenchmarkData.groupDN(group))\nchangetype: modify\ndelete: member\nmember: \(BenchmarkData.userDN(member))\n\n"
    }
    var newcomer = Int(random.next() % UInt64(data.users))
    while current[group + 1, default: []].contains(newcomer) { newcomer = (newcomer + 1) % data.users }
    current[group + 1, default: []].insert(newcomer)
    changes += "dn: \(BenchmarkData.groupDN(group + 1))\nchangetype: modify\nadd: member\nmember: \(BenchmarkData.userDN(newcomer))\n\n"
}
try directory.modify(changes)
(time, memory) = try measure(groupsync, ["sync"] + config)
results.append(Measurement(name: "re-sync after 1,000 membership changes", seconds: time, peakMiB: memory))

// Verification queries: the effective groups of 1,000 users, from the store just written.
let store = try Store(path: work.appendingPathComponent("store/groupsync.sqlite").path)
var latencies: [Double] = []
var found = 0
for index in stride(from: 0, to: data.users, by: max(1, data.users / 1000)) {
    let userID = try await ldapUUID(BenchmarkData.userDN(index))
    let started = ContinuousClock.now
    found += try store.effectiveGroups(directory: "bench", userID: userID).count
    latencies.append(seconds(ContinuousClock.now - started) * 1000)
}
latencies.sort()

let raw = results[0].seconds
say("\n| step | wall time | × raw dump | peak memory |")
say("| --- | ---: | ---: | ---: |")
for result in results {
    say(String(format: "| %@ | %.2f s | %.2f | %.0f MiB |", result.name, result.seconds, result.seconds / raw, result.peakMiB))
}
say(String(
    format: "\nverification query (effective groups of one user, recursive over the index): p50 %.2f ms, p99 %.2f ms over %d users (%.1f groups each)",
    latencies[latencies.count / 2], latencies[latencies.count * 99 / 100], latencies.count, Double(found) / Double(latencies.count)))
say("\n(\(data.users) users, \(data.groups) groups, \(data.memberValues) member values; \(ProcessInfo.processInfo.activeProcessorCount) cores)")
if let hold = ProcessInfo.processInfo.environment["GROUPSYNC_BENCH_HOLD"], let seconds = Int(hold) {
    say("holding the directory for \(seconds) s: \(directory.ldapURL), config \(config[1])")
    try await Task.sleep(for: .seconds(seconds))
}
await directory.stop()

/// The entryUUID slapd gave an entry (the store keys users by it, lower-cased).
func ldapUUID(_ dn: String) async throws -> String {
    let output = try runCommand("ldapsearch", ["-x", "-H", directory.ldapURL, "-LLL", "-b", dn, "-s", "base", "entryUUID"])
    guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("entryUUID: ") }) else { return "" }
    return line.dropFirst("entryUUID: ".count).lowercased()
}
