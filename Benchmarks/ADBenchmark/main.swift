// `make benchmark-ad`: a seeded Samba AD domain (5,000 users by default; needs root, as
// the AD tests do). Measures a raw paged ldapsearch of the entries groupsync reads, a full
// `groupsync sync` into an empty store, and, after 100 changes, an incremental run next to
// a full run of the same changes (two stores synced alike before them).
import Foundation
import LDAPTestSupport
import SyncCore
import SyncStore

func say(_ text: String) { FileHandle.standardOutput.write(Data((text + "\n").utf8)) }

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// Runs a command with standard output to /dev/null: wall time and peak RSS.
func measure(_ executable: String, _ arguments: [String]) throws -> (seconds: Double, peakMiB: Double) {
    let started = ContinuousClock.now
    let child = try SpawnedProcess(executable: executable, arguments: arguments, logPath: "/dev/null")
    let (status, usage) = child.waitWithUsage()
    guard status == 0 else { throw CommandError(command: executable, status: status, output: "", errorOutput: "benchmark step failed") }
    return (seconds(ContinuousClock.now - started), Double(usage.ru_maxrss) / 1024)
}

let users = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 5000
let binDir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
let groupsync = binDir.appendingPathComponent("groupsync").path
let work = FileManager.default.temporaryDirectory.appendingPathComponent("groupsync-ad-bench-\(getpid())")
try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: work) }

say("starting a Samba AD DC …")
let domain = try await SambaDomain.shared()
let ou = try await domain.makeOrganizationalUnit("bench")
func user(_ index: Int) -> String { "CN=b\(index),OU=people,\(ou)" }
func group(_ name: String) -> String { "CN=\(name),OU=groups,\(ou)" }
var ldif = "dn: OU=people,\(ou)\nchangetype: add\nobjectClass: organizationalUnit\n\ndn: OU=groups,\(ou)\nchangetype: add\nobjectClass: organizationalUnit\n\n"
for index in 0..<users {
    ldif += "dn: \(user(index))\nchangetype: add\nobjectClass: user\nsAMAccountName: b\(index)\nmail: b\(index)@example.com\n"
    ldif += "proxyAddresses: SMTP:b\(index)@example.com\nproxyAddresses: smtp:bee\(index)@example.com\n\n"
}
let departments = max(1, users / 100)
for department in 0..<departments {
    ldif += "dn: \(group("dept\(department)"))\nchangetype: add\nobjectClass: group\nsAMAccountName: dept\(department)\n"
    ldif += (0..<100).compactMap { department * 100 + $0 < users ? "member: \(user(department * 100 + $0))\n" : nil }.joined() + "\n"
}
for division in 0..<max(1, departments / 5) {
    ldif += "dn: \(group("division\(division)"))\nchangetype: add\nobjectClass: group\nsAMAccountName: division\(division)\n"
    ldif += (0..<5).compactMap { division * 5 + $0 < departments ? "member: \(group("dept\(division * 5 + $0)"))\n" : nil }.joined() + "\n"
}
ldif += "dn: \(group("everyone"))\nchangetype: add\nobjectClass: group\nsAMAccountName: everyone\n" + (0..<users).map { "member: \(user($0))\n" }.joined() + "\n"
var clock = ContinuousClock.now
_ = try runCommand("ldapmodify", ["-x", "-H", domain.ldapURL, "-D", SambaDomain.adminDN, "-w", SambaDomain.adminPassword], input: ldif)
say(String(format: "  seeded %d users and %d groups in %.1f s", users, departments + max(1, departments / 5) + 1, seconds(ContinuousClock.now - clock)))

try writeSecret(SambaDomain.adminPassword, to: work.appendingPathComponent("password"))
func config(_ name: String, store: String) throws -> [String] {
    let path = work.appendingPathComponent("\(name).yaml").path
    try """
        store:
          path: \(store)/groupsync.sqlite
        directories:
          - name: ad
            url: \(domain.ldapURL)
            bind:
              dn: \(SambaDomain.adminDN)
              password_file: password
            users:
              base: OU=people,\(ou)
            groups:
              base: OU=groups,\(ou)
        """.write(toFile: path, atomically: true, encoding: .utf8)
    return ["--config", path]
}
let incremental = try config("incremental", store: "a")
let full = try config("full", store: "b")

let ldapsearch = try resolveExecutable("ldapsearch")
let common = ["-x", "-H", domain.ldapURL, "-D", SambaDomain.adminDN, "-w", SambaDomain.adminPassword, "-LLL", "-E", "pr=1000/noprompt"]
let raw = try measure(ldapsearch, common + ["-b", "OU=people,\(ou)", "(&(objectCategory=person)(objectClass=user))"] + AttributeMapping.activeDirectory.userAttributes).seconds
    + measure(ldapsearch, common + ["-b", "OU=groups,\(ou)", "(objectClass=group)"] + AttributeMapping.activeDirectory.groupAttributes).seconds
let first = try measure(groupsync, ["sync"] + incremental)
_ = try measure(groupsync, ["sync"] + full)

// 100 changes: 40 membership changes, 40 mail changes, 10 new users, 10 deleted users.
var changes = ""
for index in 0..<20 {
    let department = index % departments
    changes += "dn: \(group("dept\(department)"))\nchangetype: modify\ndelete: member\nmember: \(user(department * 100 + index % 100))\n\n"
    changes += "dn: \(group("dept\((department + 1) % departments)"))\nchangetype: modify\nadd: member\nmember: \(user(department * 100 + index % 100))\n\n"
}
for index in 0..<40 { changes += "dn: \(user(index * 7 + 1))\nchangetype: modify\nreplace: mail\nmail: new\(index)@example.com\n\n" }
for index in 0..<10 { changes += "dn: CN=new\(index),OU=people,\(ou)\nchangetype: add\nobjectClass: user\nsAMAccountName: new\(index)\n\n" }
for index in 0..<10 { changes += "dn: \(user(users - 1 - index * 3))\nchangetype: delete\n\n" }
_ = try runCommand("ldapmodify", ["-x", "-H", domain.ldapURL, "-D", SambaDomain.adminDN, "-w", SambaDomain.adminPassword], input: changes)
let afterIncremental = try measure(groupsync, ["sync"] + incremental)
let afterFull = try measure(groupsync, ["sync", "--full"] + full)
let same = try Store(path: work.appendingPathComponent("a/groupsync.sqlite").path).snapshot(directory: "ad")
    == Store(path: work.appendingPathComponent("b/groupsync.sqlite").path).snapshot(directory: "ad")

say("\n| Active Directory (Samba), \(users) users | wall time | × raw dump | peak memory |")
say("| --- | ---: | ---: | ---: |")
say(String(format: "| raw dump (ldapsearch, paged 1000) | %.2f s | 1.00 | |", raw))
say(String(format: "| full sync into an empty store | %.2f s | %.2f | %.0f MiB |", first.seconds, first.seconds / raw, first.peakMiB))
say(String(format: "| after 100 changes: incremental run (DirSync) | %.2f s | %.2f | %.0f MiB |", afterIncremental.seconds, afterIncremental.seconds / raw, afterIncremental.peakMiB))
say(String(format: "| after the same 100 changes: full run | %.2f s | %.2f | %.0f MiB |", afterFull.seconds, afterFull.seconds / raw, afterFull.peakMiB))
say(String(format: "\nincremental / full: %.0f%%; both stores equal afterwards: %@", afterIncremental.seconds / afterFull.seconds * 100, same ? "yes" : "NO"))
say("(\(ProcessInfo.processInfo.activeProcessorCount) cores)")
domain.process.signalGroup(SIGTERM)
