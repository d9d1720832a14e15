import Foundation
import LDAPClient
import Synchronization

/// A real OpenLDAP slapd for tests: generated cn=config in a temporary folder, fixture data
/// loaded with `slapadd -q`, listening on free loopback ports for `ldap://`, `ldaps://` and
/// on an `ldapi://` socket. It is stopped and its folder removed when the object goes away
/// (and killed when the test process exits).
public final class TestDirectory: Sendable {
    public let folder: URL
    public let suffix: String
    public let certificates: TestCertificates
    public let port: Int
    public let tlsPort: Int
    private let socketPath: String
    private let process = Mutex<SpawnedProcess?>(nil)

    public var ldapURL: String { "ldap://127.0.0.1:\(port)" }
    public var ldapsURL: String { "ldaps://127.0.0.1:\(tlsPort)" }
    /// The LDAPS listener on 127.0.0.2, an address the server certificate does not name.
    public var ldapsURLWithWrongName: String { "ldaps://127.0.0.2:\(tlsPort)" }
    public var ldapiURL: String { "ldapi://" + socketPath.replacingOccurrences(of: "/", with: "%2F") }
    public var caFile: String { certificates.caFile }
    public var logFile: URL { folder.appendingPathComponent("slapd.log") }

    /// Starts a server with the fixture loaded. Needs `slapd`, `slapadd` and `openssl`.
    public static func start(_ fixture: DirectoryFixture = .people(10), extraModules: [String] = []) async throws -> TestDirectory {
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("groupsync-slapd-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("config"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("data"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("accesslog"), withIntermediateDirectories: true)
        ChildProcesses.shared.addFolder(folder.path)
        let certificates = try await offThePool { try prepare(fixture, in: folder, extraModules: extraModules) }

        var lastError: (any Error)?
        for _ in 0..<5 {
            let directory = TestDirectory(
                folder: folder, suffix: fixture.suffix, certificates: certificates,
                port: try freeLoopbackPort(), tlsPort: try freeLoopbackPort())
            do {
                try await directory.startServer()
                directory.ownsFolder.withLock { $0 = true }
                return directory
            } catch {
                lastError = error
                directory.process.withLock { $0 = nil }
            }
        }
        throw lastError!
    }

    /// Whether this instance removes the folder when it goes: the one that started.
    private let ownsFolder = Mutex(false)

    /// Certificates, cn=config and the data, loaded with slapadd (blocking: run off the pool).
    private static func prepare(_ fixture: DirectoryFixture, in folder: URL, extraModules: [String]) throws -> TestCertificates {
        let certificates = try TestCertificates.make(in: folder)
        let config = SlapdConfig(
            folder: folder, suffix: fixture.suffix, rootDN: DirectoryFixture.adminDN,
            rootPassword: DirectoryFixture.adminPassword, certificates: certificates,
            limitedDN: DirectoryFixture.limitedDN, limitedSizeLimit: DirectoryFixture.limitedSizeLimit,
            extraModules: extraModules, syncProvider: fixture.syncProvider)
        let configLDIF = folder.appendingPathComponent("config.ldif")
        try config.ldif().write(to: configLDIF, atomically: true, encoding: .utf8)
        try runCommand("slapadd", ["-n0", "-F", folder.appendingPathComponent("config").path, "-l", configLDIF.path])
        let dataLDIF = folder.appendingPathComponent("data.ldif")
        try LDIF.document(fixture.entries).write(to: dataLDIF, atomically: true, encoding: .utf8)
        try runCommand("slapadd", ["-q", "-n1", "-F", folder.appendingPathComponent("config").path, "-l", dataLDIF.path])
        if let file = fixture.ldifFile {
            try runCommand("slapadd", ["-q", "-n1", "-F", folder.appendingPathComponent("config").path, "-l", file])
        }
        return certificates
    }

    private init(folder: URL, suffix: String, certificates: TestCertificates, port: Int, tlsPort: Int) {
        self.folder = folder
        self.suffix = suffix
        self.certificates = certificates
        self.port = port
        self.tlsPort = tlsPort
        self.socketPath = folder.appendingPathComponent("ldapi").path
    }

    deinit {
        if let process = process.withLock({ $0 }) {
            process.killAndReap()
            ChildProcesses.shared.remove(process.pid)
        }
        // A failed start attempt leaves the folder to the next attempt (same data, other ports).
        if ownsFolder.withLock({ $0 }) {
            try? FileManager.default.removeItem(at: folder)
            ChildProcesses.shared.removeFolder(folder.path)
        }
    }

    /// Starts slapd again on the same ports with the same data, after ``stop()`` or ``kill(_:)``.
    public func restart() async throws {
        try await startServer()
    }

    /// Stops slapd with SIGTERM and waits for it to exit.
    public func stop() async {
        guard let process = process.withLock({ current -> SpawnedProcess? in
            defer { current = nil }
            return current
        }) else { return }
        process.signal(SIGTERM)
        await process.waitForExit()
        ChildProcesses.shared.remove(process.pid)
    }

    /// Sends a signal to slapd (SIGKILL, SIGSTOP, SIGCONT…). After SIGKILL it waits for the
    /// process to go and forgets it, so ``restart()`` can start a new one.
    public func kill(_ signal: Int32) async {
        guard let process = process.withLock({ $0 }) else { return }
        process.signal(signal)
        if signal == SIGSTOP {
            // kill(2) returns before the process has stopped; wait until the kernel says it
            // has, or a request sent right after could still be answered.
            await waitForState(pid: process.pid, "T")
        }
        if signal == SIGKILL {
            await process.waitForExit()
            self.process.withLock { $0 = nil }
            ChildProcesses.shared.remove(process.pid)
        }
    }

    /// Sends a signal without waiting, from any context (e.g. a progress callback).
    public func signalNow(_ signal: Int32) {
        process.withLock { $0?.signal(signal) }
    }

    /// Sends a signal that ends slapd (SIGTERM, SIGKILL) and blocks until it has exited, for
    /// synchronous contexts such as a progress callback. ``restart()`` starts it again.
    public func signalAndWait(_ signal: Int32, timeout: Duration = .seconds(10)) {
        guard let process = process.withLock({ $0 }) else { return }
        process.signal(signal)
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { usleep(5_000) }
    }

    private func waitForState(pid: pid_t, _ state: Character) async {
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            // /proc/PID/stat: "pid (comm) S …": the state follows the closing parenthesis.
            if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")"), stat.index(close, offsetBy: 2) < stat.endIndex,
                stat[stat.index(close, offsetBy: 2)] == state
            {
                return
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// slapd's process id while it runs.
    public var pid: pid_t? { process.withLock { $0?.pid } }

    public var isRunning: Bool { process.withLock { $0?.isRunning ?? false } }

    // MARK: Changing the directory while it runs

    /// Applies an LDIF change record stream with `ldapmodify` as the root DN.
    public func modify(_ ldif: String) throws {
        try runCommand("ldapmodify", ["-x", "-H", ldapURL, "-D", DirectoryFixture.adminDN, "-w", DirectoryFixture.adminPassword], input: ldif)
    }

    /// Deletes an entry with `ldapdelete` as the root DN (refint removes it from groups).
    public func delete(_ dn: String) throws {
        try runCommand("ldapdelete", ["-x", "-H", ldapURL, "-D", DirectoryFixture.adminDN, "-w", DirectoryFixture.adminPassword, dn])
    }

    /// Adds entries with `ldapadd` as the root DN (overlays such as memberof see them).
    public func add(_ entries: [LDIFEntry]) throws {
        try runCommand(
            "ldapadd", ["-x", "-H", ldapURL, "-D", DirectoryFixture.adminDN, "-w", DirectoryFixture.adminPassword],
            input: LDIF.document(entries))
    }

    /// Changes cn=config (e.g. the database's access rules) over the ldapi socket as the
    /// user running the tests (SASL EXTERNAL), while slapd runs.
    public func modifyConfig(_ ldif: String) throws {
        try runCommand("ldapmodify", ["-Q", "-Y", "EXTERNAL", "-H", ldapiURL], input: ldif)
    }

    /// Replaces the access rules of the directory's database (`olcAccess` of `{1}mdb`).
    /// The first rule always keeps the test process's own ldapi identity in charge.
    public func setAccess(_ rules: [String]) throws {
        let manager = SlapdConfig.testProcessManages
        let lines = ["to attrs=userPassword \(manager) by self write by anonymous auth by * none"] + rules.map { rule in
            rule.hasPrefix("to ") ? rule.replacingOccurrences(of: " by ", with: " \(manager) by ", options: [], range: rule.range(of: " by ")) : rule
        }
        try modifyConfig(
            "dn: olcDatabase={1}mdb,cn=config\nchangetype: modify\nreplace: olcAccess\n"
                + lines.enumerated().map { "olcAccess: {\($0.offset)}\($0.element)\n" }.joined())
    }

    /// Connection options for this server's plain `ldap://` URL.
    public func options(url: String? = nil, startTLS: Bool = false, tls: TLSOptions? = nil, timeout: Duration = .seconds(10)) -> LDAPConnectionOptions {
        LDAPConnectionOptions(
            url: url ?? ldapURL, startTLS: startTLS, tls: tls ?? TLSOptions(caFile: caFile),
            connectTimeout: timeout, operationTimeout: timeout)
    }

    // MARK: Process handling

    private func startServer() async throws {
        let arguments = [
            "-F", folder.appendingPathComponent("config").path,
            "-h", "ldap://127.0.0.1:\(port)/ ldaps://127.0.0.1:\(tlsPort)/ ldaps://127.0.0.2:\(tlsPort)/ \(ldapiURL)/",
            "-d", "0",
        ]
        let slapd = try SpawnedProcess(executable: try resolveExecutable("slapd"), arguments: arguments, logPath: logFile.path)
        process.withLock { $0 = slapd }
        ChildProcesses.shared.add(slapd.pid)

        // Generous: on two busy cores (a Samba domain seeding beside other tests) a slapd
        // with a big database can take a while; one that failed to start exits at once.
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            guard slapd.isRunning else { break }
            if await answers() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        await stop()
        let logText = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
        throw CommandError(
            command: "slapd " + arguments.joined(separator: " "), status: 1,
            output: "", errorOutput: "slapd did not answer within 60 s, or exited; its log ends with:\n" + logText.suffix(2000))
    }

    private func answers() async -> Bool {
        do {
            // Over this server's own ldapi socket: a TCP port could be answered by another
            // test's slapd that took it first, while ours failed to bind and exited.
            let session = try await LDAPSession.connect(LDAPConnectionOptions(
                url: ldapiURL, connectTimeout: .seconds(1), operationTimeout: .seconds(1)))
            _ = try await session.rootDSE()
            await session.close()
            return true
        } catch {
            return false
        }
    }

}

/// A new folder under the temporary directory, named `prefix-XXXXXXXX`, removed when the test
/// process exits (for stores and files a test does not clean up itself).
public func scratchFolder(_ prefix: String) throws -> URL {
    let folder = FileManager.default.temporaryDirectory
        .appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    ChildProcesses.shared.addFolder(folder.path)
    return folder
}

/// Every slapd a test process started, killed when the process exits so that a failed or
/// interrupted test run leaves no server behind.
final class ChildProcesses: Sendable {
    static let shared = ChildProcesses()
    private let pids = Mutex<Set<pid_t>>([])
    private let groups = Mutex<Set<pid_t>>([])
    private let folders = Mutex<Set<String>>([])

    private init() {
        atexit {
            let pids = ChildProcesses.shared.pids.withLock({ $0 })
            for pid in pids { kill(pid, SIGKILL) }
            // Reap them before removing their folders: a server still dying may still write.
            for pid in pids { waitpid(pid, nil, 0) }
            for group in ChildProcesses.shared.groups.withLock({ $0 }) { kill(-group, SIGKILL) }
            for folder in ChildProcesses.shared.folders.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: folder) }
        }
    }

    func addFolder(_ path: String) { _ = folders.withLock { $0.insert(path) } }
    func removeFolder(_ path: String) { _ = folders.withLock { $0.remove(path) } }

    func add(_ pid: pid_t) { _ = pids.withLock { $0.insert(pid) } }
    func addGroup(_ pid: pid_t) { _ = groups.withLock { $0.insert(pid) } }
    func remove(_ pid: pid_t) { _ = pids.withLock { $0.remove(pid) } }
}
