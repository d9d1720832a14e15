// `make demo`: a throwaway OpenLDAP directory with a few hundred people, a demo
// configuration, and the groupsync command line run against it the way an admin would:
// a first sync, a change in the directory (onboarding, a departure, a move), a second
// sync that shows exactly what changed, the daemon in watch mode picking up a change
// within seconds with no sync command, and the run history.
import Foundation
import LDAPTestSupport

let demoFolder = URL(fileURLWithPath: CommandLine.arguments.dropFirst().first ?? "demo", isDirectory: true).standardizedFileURL
let groupsync = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    .deletingLastPathComponent().appendingPathComponent("groupsync").path

/// Unbuffered, so the lines interleave correctly with the output of the commands it runs.
func say(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}

func banner(_ text: String) {
    say(isatty(STDOUT_FILENO) == 1 ? "\n\u{1B}[1m==> \(text)\u{1B}[0m" : "\n==> \(text)")
}

@discardableResult
func groupsyncCommand(_ arguments: [String]) throws -> Int32 {
    say("$ groupsync \(arguments.joined(separator: " "))")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: groupsync)
    process.arguments = arguments + ["--config", demoFolder.appendingPathComponent("groupsync.yaml").path]
    try process.run()
    process.waitUntilExit()
    say("(exit \(process.terminationStatus))")
    return process.terminationStatus
}

banner("Starting a throwaway OpenLDAP directory (slapd) with 300 people")
let directory = try await TestDirectory.start(SampleDirectory.fixture(people: 300))
say("listening on \(directory.ldapURL) and \(directory.ldapsURL); data in \(directory.folder.path)")

try FileManager.default.createDirectory(at: demoFolder, withIntermediateDirectories: true)
try? FileManager.default.removeItem(at: demoFolder.appendingPathComponent("var"))
try writeSecret(DirectoryFixture.servicePassword + "\n", to: demoFolder.appendingPathComponent("ldap-password"))
// A copy of the throwaway CA, so the config stays valid for `groupsync runs` after the demo.
try? FileManager.default.removeItem(at: demoFolder.appendingPathComponent("ca.pem"))
try FileManager.default.copyItem(atPath: directory.caFile, toPath: demoFolder.appendingPathComponent("ca.pem").path)
chmod(demoFolder.appendingPathComponent("ldap-password").path, 0o600)
let config = SampleDirectory.demoConfiguration(url: directory.ldapURL)
try config.write(to: demoFolder.appendingPathComponent("groupsync.yaml"), atomically: true, encoding: .utf8)
say("wrote \(demoFolder.appendingPathComponent("groupsync.yaml").path)")

banner("First sync into an empty store")
try groupsyncCommand(["sync", "--show", "8"])

banner("Nothing changed in the directory: the next sync writes nothing")
try groupsyncCommand(["sync"])

banner("In the directory: a new hire joins Finance, someone leaves Sales, a mail address changes")
try directory.add([
    DirectoryFixture.person("new.hire", name: "Nadia Hire", extra: [("departmentNumber", "Finance")]),
])
let people = SampleDirectory.people(300)
let salesPerson = people.first { $0.department == "Sales" }!
let mover = people[2]
try directory.modify("""
    dn: cn=finance,ou=groups,dc=example,dc=com
    changetype: modify
    add: member
    member: uid=new.hire,ou=people,dc=example,dc=com

    dn: cn=sales,ou=groups,dc=example,dc=com
    changetype: modify
    delete: member
    member: \(salesPerson.dn)

    dn: \(mover.dn)
    changetype: modify
    replace: mail
    mail: \(mover.uid).\(mover.department.lowercased())@example.com

    """)
say("ldapmodify: added uid=new.hire to cn=finance, removed \(salesPerson.uid) from cn=sales, changed \(mover.uid)'s mail")

banner("Did the new hire land? Not yet: the directory has it, the store does not")
try groupsyncCommand(["verify", "new.hire", "--policy", "Permitted Senders - Finance", "--live"])

banner("Dry run: the exact plan, nothing written")
try groupsyncCommand(["sync", "--dry-run"])

banner("Sync: what changed, including who now lands in which nested group")
try groupsyncCommand(["sync"])

banner("Now the new hire has landed, with the path")
try groupsyncCommand(["verify", "new.hire", "--policy", "Permitted Senders - Finance", "--group", "all-staff"])

banner("Everything that applies to one person, and conflicts")
// A contractor in Finance: permitted through Finance, blocked as a contractor.
try groupsyncCommand(["explain", people.suffix(4).first { $0.department == "Finance" }!.uid])

banner("The landing report: every intent, and the policy lint")
try groupsyncCommand(["report"])

banner("Watch mode: `groupsync serve` applies a change within seconds, with no sync command")
let serveLog = demoFolder.appendingPathComponent("var/serve.log").path
let serve = try SpawnedProcess(
    executable: groupsync, arguments: ["serve", "--config", demoFolder.appendingPathComponent("groupsync.yaml").path], logPath: serveLog)
say("$ groupsync serve &    (log: \(serveLog))")
let watching = ContinuousClock.now + .seconds(60)
while !((try? String(contentsOfFile: serveLog, encoding: .utf8)) ?? "").contains("watching for changes") && ContinuousClock.now < watching {
    try await Task.sleep(for: .milliseconds(100))
}
try directory.add([DirectoryFixture.person("late.hire", name: "Lena Late", extra: [("departmentNumber", "Finance")])])
try directory.modify("dn: cn=finance,ou=groups,dc=example,dc=com\nchangetype: modify\nadd: member\nmember: uid=late.hire,ou=people,dc=example,dc=com\n\n")
let changed = ContinuousClock.now
say("ldapmodify: added uid=late.hire to cn=finance")
/// Whether `groupsync verify` says the user landed (exit 0), without printing it.
func landedQuietly(_ user: String) throws -> Bool {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: groupsync)
    process.arguments = ["verify", user, "--policy", "Permitted Senders - Finance", "--config", demoFolder.appendingPathComponent("groupsync.yaml").path]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus == 0
}
while try !landedQuietly("late.hire") && ContinuousClock.now - changed < .seconds(20) {
    try await Task.sleep(for: .milliseconds(100))
}
let elapsed = ContinuousClock.now - changed
say(String(format: "landed %.1f s after the ldapmodify (batch window 1 s), without a sync command:", Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18))
try groupsyncCommand(["verify", "late.hire", "--policy", "Permitted Senders - Finance"])
serve.signal(SIGTERM)
await serve.waitForExit()

banner("Run history")
try groupsyncCommand(["runs"])

await directory.stop()
banner("Done. The store and config stay in \(demoFolder.path); the directory was stopped.")
say("Try: .build/debug/groupsync runs show 1 --config \(demoFolder.path)/groupsync.yaml")
