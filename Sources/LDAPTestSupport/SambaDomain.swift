import Foundation
import LDAPClient

/// A real Active Directory domain controller for tests: Samba, provisioned into a temporary
/// folder (`samba-tool domain provision`, realm EXAMPLE.TEST, no DNS), listening on the
/// standard LDAP ports of the loopback interface. Samba cannot use other ports, so one
/// domain serves a whole test process (``shared()``); each test works in an OU of its own
/// (``makeOrganizationalUnit(_:)``). Killed, with the processes it forked, when the test
/// process exits. Needs the Debian packages `samba-ad-dc` and `samba-ad-provision`, and root.
public final class SambaDomain: Sendable {
    public let folder: URL
    public let process: SpawnedProcess
    public static let realm = "EXAMPLE.TEST"
    public static let baseDN = "DC=example,DC=test"
    public static let adminDN = "CN=Administrator,CN=Users,DC=example,DC=test"
    public static let adminPassword = "Admin-Passw0rd!"
    public let ldapURL = "ldap://127.0.0.1:389"

    private static let starter = Starter()

    /// The process's domain controller, provisioned and started on first use (about 10 s).
    public static func shared() async throws -> SambaDomain { try await starter.domain() }

    actor Starter {
        /// One start for every caller: the actor is reentrant across the await, so the
        /// task, not its result, is what is kept.
        private var starting: Task<SambaDomain, any Error>?

        func domain() async throws -> SambaDomain {
            if let starting { return try await starting.value }
            let task = Task { try await SambaDomain.start() }
            starting = task
            return try await task.value
        }
    }

    private init(folder: URL, process: SpawnedProcess) {
        self.folder = folder
        self.process = process
    }

    static func start() async throws -> SambaDomain {
        guard (try? resolveExecutable("samba")) != nil, (try? resolveExecutable("samba-tool")) != nil else {
            throw CommandError(
                command: "samba", status: 127, output: "",
                errorOutput: "Samba is not installed: run Scripts/install-deps.sh (Debian packages samba-ad-dc, samba-ad-provision)")
        }
        guard getuid() == 0 else {
            throw CommandError(
                command: "samba", status: 1, output: "",
                errorOutput: "a Samba domain controller runs as root only; run the tests as root (as CI does)")
        }
        if await answers() {
            throw CommandError(
                command: "samba", status: 1, output: "",
                errorOutput: "something already answers LDAP on 127.0.0.1:389 (a leftover samba or slapd?); stop it first")
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("groupsync-samba-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        ChildProcesses.shared.addFolder(folder.path)
        _ = try await runCommandDetached("samba-tool", [
            "domain", "provision", "--targetdir=\(folder.path)", "--realm=\(realm)", "--domain=EXAMPLE", "--server-role=dc",
            "--dns-backend=NONE", "--adminpass=\(adminPassword)", "--use-rfc2307", "--host-name=DC1",
            "--option=interfaces=lo", "--option=bind interfaces only=yes",
        ])
        let configPath = folder.appendingPathComponent("etc/smb.conf").path
        var config = try String(contentsOfFile: configPath, encoding: .utf8)
        var lines: [String] = []
        for line in config.components(separatedBy: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("server services") || trimmed.hasPrefix("log file") { continue }
            lines.append(line)
            if trimmed == "[global]" {
                for name in ["pid", "ncalrpc", "winbindd", "ntp_signd"] {
                    try FileManager.default.createDirectory(at: folder.appendingPathComponent(name), withIntermediateDirectories: true)
                }
                lines += [
                    // LDAP only: the tests bind simply and need no Kerberos, RPC or CLDAP, and
                    // each service is more ports that something else may hold (samba exits
                    // when one cannot bind).
                    "\tserver services = ldap",
                    // Plain simple binds over ldap:// (tests bind as the administrator).
                    "\tldap server require strong auth = no",
                    "\tlog file = \(folder.path)/log.%m",
                    "\tpid directory = \(folder.path)/pid",
                    "\tncalrpc dir = \(folder.path)/ncalrpc",
                    "\twinbindd socket directory = \(folder.path)/winbindd",
                    "\tntp signd socket directory = \(folder.path)/ntp_signd",
                ]
            }
        }
        config = lines.joined(separator: "\n")
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        // Samba exits at once when one of its services cannot start (in CI it once exited
        // with its log left out of the error). Its reasons are in
        // its own log (`log.%m`: the name is literal, no client is known at start-up), which
        // is printed with each failed attempt; a second and third start reuse the provision.
        var failures: [String] = []
        for attempt in 1...3 {
            switch try await launch(folder: folder, configPath: configPath) {
            case .success(let process):
                return SambaDomain(folder: folder, process: process)
            case .failure(let reason):
                failures.append("attempt \(attempt): \(reason)")
                FileHandle.standardError.write(Data("samba: the domain controller did not start (attempt \(attempt) of 3): \(reason)\n".utf8))
            }
        }
        throw CommandError(command: "samba", status: 1, output: "", errorOutput: "the domain controller did not start:\n\(failures.joined(separator: "\n"))")
    }

    enum Launch { case success(SpawnedProcess), failure(String) }

    /// Starts samba on a provisioned folder and waits up to 60 s for LDAP to answer. On failure
    /// the process group is killed and gone (its ports free again), and the reason is the exit
    /// status with the end of samba's output and log.
    static func launch(folder: URL, configPath: String) async throws -> Launch {
        let logs = ["samba.out", "log.%m"].map { folder.appendingPathComponent($0) }
        let offsets = logs.map { ((try? FileManager.default.attributesOfItem(atPath: $0.path)[.size]) as? Int) ?? 0 }
        let process = try SpawnedProcess(
            executable: try resolveExecutable("samba"), arguments: ["-s", configPath, "--foreground", "--no-process-group"],
            logPath: logs[0].path, newProcessGroup: true)
        ChildProcesses.shared.addGroup(process.pid)
        let deadline = ContinuousClock.now + .seconds(60)
        while !(await answers()) {
            guard process.isRunning, ContinuousClock.now < deadline else {
                let status = process.exitCode.map { "exited with status \($0)" } ?? "did not answer LDAP within 60 s"
                process.signalGroup(SIGKILL)
                process.killAndReap()
                let groupGone = ContinuousClock.now + .seconds(10)
                while kill(-process.pid, 0) == 0, ContinuousClock.now < groupGone {
                    try await Task.sleep(for: .milliseconds(50))
                }
                var reason = status
                for (log, offset) in zip(logs, offsets) {
                    guard let data = try? Data(contentsOf: log), data.count > offset else { continue }
                    let text = String(decoding: data.dropFirst(offset), as: UTF8.self)
                    reason += "\n--- \(log.lastPathComponent):\n\(text.suffix(3000))"
                }
                return .failure(reason)
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        return .success(process)
    }

    /// Whether an LDAP server answers a root DSE query on 127.0.0.1:389.
    static func answers() async -> Bool {
        do {
            let session = try await LDAPSession.connect(LDAPConnectionOptions(url: "ldap://127.0.0.1:389", connectTimeout: .seconds(2), operationTimeout: .seconds(2)))
            _ = try await session.rootDSE()
            await session.close()
            return true
        } catch {
            return false
        }
    }

    /// Runs `ldapmodify` as the administrator (`changetype` records; `-c` is not used:
    /// the first error stops and throws).
    /// Off the concurrency pool: seeding thousands of entries takes a while.
    public func modify(_ ldif: String) async throws {
        _ = try await runCommandDetached("ldapmodify", ["-x", "-H", ldapURL, "-D", Self.adminDN, "-w", Self.adminPassword], input: ldif)
    }

    /// Creates an OU under the domain for one test and returns its DN.
    public func makeOrganizationalUnit(_ prefix: String = "test") async throws -> String {
        let dn = "OU=\(prefix)-\(UUID().uuidString.prefix(8).lowercased()),\(Self.baseDN)"
        try await modify("dn: \(dn)\nchangetype: add\nobjectClass: organizationalUnit\n\n")
        return dn
    }

    /// Sets an account's password (over `samba-tool`, which writes it locally), which AD
    /// requires before the account can be enabled.
    public func setPassword(_ samAccountName: String, _ password: String) async throws {
        _ = try await runCommandDetached("samba-tool", [
            "user", "setpassword", samAccountName, "--newpassword=\(password)",
            "-H", "\(folder.path)/private/sam.ldb",
        ])
    }
}
