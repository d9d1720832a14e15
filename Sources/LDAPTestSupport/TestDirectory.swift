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
    private let process = Mutex<Process?>(nil)

    public var ldapURL: String { "ldap://127.0.0.1:\(port)" }
    public var ldapsURL: String { "ldaps://127.0.0.1:\(tlsPort)" }
    public var ldapiURL: String { "ldapi://" + socketPath.replacingOccurrences(of: "/", with: "%2F") }
    public var caFile: String { certificates.caFile }
    public var logFile: URL { folder.appendingPathComponent("slapd.log") }

    /// Starts a server with the fixture loaded. Needs `slapd`, `slapadd` and `openssl`.
    public static func start(_ fixture: DirectoryFixture = .people(10), extraModules: [String] = []) async throws -> TestDirectory {
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("groupsync-slapd-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("config"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("data"), withIntermediateDirectories: true)
        let certificates = try TestCertificates.make(in: folder)
        let config = SlapdConfig(
            folder: folder, suffix: fixture.suffix, rootDN: DirectoryFixture.adminDN,
            rootPassword: DirectoryFixture.adminPassword, certificates: certificates,
            limitedDN: DirectoryFixture.limitedDN, limitedSizeLimit: DirectoryFixture.limitedSizeLimit,
            extraModules: extraModules)
        let configLDIF = folder.appendingPathComponent("config.ldif")
        try config.ldif().write(to: configLDIF, atomically: true, encoding: .utf8)
        try runCommand("slapadd", ["-n0", "-F", folder.appendingPathComponent("config").path, "-l", configLDIF.path])
        let dataLDIF = folder.appendingPathComponent("data.ldif")
        try LDIF.document(fixture.entries).write(to: dataLDIF, atomically: true, encoding: .utf8)
        try runCommand("slapadd", ["-q", "-n1", "-F", folder.appendingPathComponent("config").path, "-l", dataLDIF.path])

        var lastError: (any Error)?
        for _ in 0..<5 {
            let directory = TestDirectory(
                folder: folder, suffix: fixture.suffix, certificates: certificates,
                port: try freeLoopbackPort(), tlsPort: try freeLoopbackPort())
            do {
                try await directory.startServer()
                return directory
            } catch {
                lastError = error
                directory.process.withLock { $0 = nil }
            }
        }
        throw lastError!
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
            terminate(process, signal: SIGKILL)
        }
        try? FileManager.default.removeItem(at: folder)
    }

    /// Starts slapd again on the same ports with the same data, after ``stop()`` or ``kill(_:)``.
    public func restart() async throws {
        try await startServer()
    }

    /// Stops slapd with SIGTERM and waits for it to exit.
    public func stop() {
        guard let process = process.withLock({ current -> Process? in
            defer { current = nil }
            return current
        }) else { return }
        terminate(process, signal: SIGTERM)
    }

    /// Sends a signal to slapd (SIGKILL, SIGSTOP, SIGCONT…). SIGKILL also forgets the process.
    public func kill(_ signal: Int32) {
        guard let process = process.withLock({ $0 }) else { return }
        if signal == SIGKILL {
            terminate(process, signal: SIGKILL)
            self.process.withLock { $0 = nil }
        } else {
            Foundation.kill(process.processIdentifier, signal)
        }
    }

    public var isRunning: Bool { process.withLock { $0?.isRunning ?? false } }

    // MARK: Changing the directory while it runs

    /// Applies an LDIF change record stream with `ldapmodify` as the root DN.
    public func modify(_ ldif: String) throws {
        try runCommand("ldapmodify", ["-x", "-H", ldapURL, "-D", DirectoryFixture.adminDN, "-w", DirectoryFixture.adminPassword], input: ldif)
    }

    /// Adds entries with `ldapadd` as the root DN (overlays such as memberof see them).
    public func add(_ entries: [LDIFEntry]) throws {
        try runCommand(
            "ldapadd", ["-x", "-H", ldapURL, "-D", DirectoryFixture.adminDN, "-w", DirectoryFixture.adminPassword],
            input: LDIF.document(entries))
    }

    /// Connection options for this server's plain `ldap://` URL.
    public func options(url: String? = nil, startTLS: Bool = false, tls: TLSOptions? = nil, timeout: Duration = .seconds(10)) -> LDAPConnectionOptions {
        LDAPConnectionOptions(
            url: url ?? ldapURL, startTLS: startTLS, tls: tls ?? TLSOptions(caFile: caFile),
            connectTimeout: timeout, operationTimeout: timeout)
    }

    // MARK: Process handling

    private func startServer() async throws {
        let slapd = Process()
        slapd.executableURL = URL(fileURLWithPath: try resolveExecutable("slapd"))
        slapd.arguments = [
            "-F", folder.appendingPathComponent("config").path,
            "-h", "ldap://127.0.0.1:\(port)/ ldaps://127.0.0.1:\(tlsPort)/ \(ldapiURL)/",
            "-d", "0",
        ]
        if !FileManager.default.fileExists(atPath: logFile.path) {
            _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        }
        let log = try FileHandle(forWritingTo: logFile)
        try log.seekToEnd()
        slapd.standardOutput = log
        slapd.standardError = log
        slapd.standardInput = FileHandle.nullDevice
        try slapd.run()
        try? log.close()
        process.withLock { $0 = slapd }
        ChildProcesses.shared.add(slapd.processIdentifier)

        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            guard slapd.isRunning else { break }
            if await answers() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        stop()
        let logText = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
        throw CommandError(
            command: "slapd " + (slapd.arguments ?? []).joined(separator: " "), status: slapd.isRunning ? 0 : slapd.terminationStatus,
            output: "", errorOutput: "slapd did not answer within 15 s; its log ends with:\n" + logText.suffix(2000))
    }

    private func answers() async -> Bool {
        do {
            let session = try await LDAPSession.connect(LDAPConnectionOptions(
                url: ldapURL, connectTimeout: .seconds(1), operationTimeout: .seconds(1)))
            _ = try await session.rootDSE()
            await session.close()
            return true
        } catch {
            return false
        }
    }

    private func terminate(_ process: Process, signal: Int32) {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, signal)
        if signal == SIGSTOP { return }
        process.waitUntilExit()
        ChildProcesses.shared.remove(process.processIdentifier)
    }
}

/// Every slapd a test process started, killed when the process exits so that a failed or
/// interrupted test run leaves no server behind.
final class ChildProcesses: Sendable {
    static let shared = ChildProcesses()
    private let pids = Mutex<Set<pid_t>>([])

    private init() {
        atexit {
            for pid in ChildProcesses.shared.pids.withLock({ $0 }) { kill(pid, SIGKILL) }
        }
    }

    func add(_ pid: pid_t) { _ = pids.withLock { $0.insert(pid) } }
    func remove(_ pid: pid_t) { _ = pids.withLock { $0.remove(pid) } }
}
