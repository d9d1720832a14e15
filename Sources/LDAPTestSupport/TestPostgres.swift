import Foundation
import Synchronization

/// A real PostgreSQL server for tests: a throwaway cluster made with `initdb` in a temporary
/// folder, started on a free loopback port (and a Unix socket in the folder), with password
/// (SCRAM) authentication for the `groupsync` role on TCP. Stopped and its folder removed
/// when the object goes away (and killed when the test process exits).
///
/// PostgreSQL refuses to run as root; when the tests run as root the server and `initdb` run
/// as the `postgres` account the Debian package creates (through `setpriv`, which execs
/// directly, so signals reach the server itself).
public final class TestPostgres: Sendable {
    public let folder: URL
    public let port: Int
    public static let user = "groupsync"
    public static let database = "groupsync"
    public let password: String
    /// With TLS: the CA that signed the server's certificate (for 127.0.0.1 and localhost).
    public let certificates: TestCertificates?
    private let process = Mutex<SpawnedProcess?>(nil)

    /// `postgres://groupsync@127.0.0.1:PORT/groupsync` (the password comes from a file).
    public var url: String { "postgres://\(Self.user)@127.0.0.1:\(port)/\(Self.database)" }
    public var logFile: URL { folder.appendingPathComponent("postgres.log") }
    var dataFolder: URL { folder.appendingPathComponent("data") }

    /// The folder with PostgreSQL's server programs (`initdb`, `postgres`): Debian keeps
    /// them under /usr/lib/postgresql/VERSION/bin, off PATH; the newest version wins.
    public static func binFolder() throws -> String {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        guard let version = versions.last, FileManager.default.isExecutableFile(atPath: "\(root)/\(version)/bin/postgres") else {
            throw CommandError(
                command: "postgres", status: 127, output: "",
                errorOutput: "PostgreSQL's server is not installed (no \(root)/VERSION/bin/postgres): apt-get install postgresql")
        }
        return "\(root)/\(version)/bin"
    }

    /// Makes the cluster, creates the `groupsync` database and starts the server; with
    /// `tls`, the server also offers TLS with a certificate from a throwaway CA.
    public static func start(tls: Bool = false) async throws -> TestPostgres {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("groupsync-pg-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        ChildProcesses.shared.addFolder(folder.path)
        let password = "pg-" + UUID().uuidString
        let certificates = try await offThePool { () -> TestCertificates? in
            try initialise(folder, password: password)
            return tls ? try serverCertificates(in: folder) : nil
        }
        var lastError: (any Error)?
        for _ in 0..<5 {
            let server = TestPostgres(folder: folder, port: try freeLoopbackPort(), password: password, certificates: certificates)
            do {
                try await server.startServer()
                try await server.createDatabase(database)
                server.ownsFolder.withLock { $0 = true }
                return server
            } catch {
                lastError = error
                server.process.withLock { $0 = nil }
            }
        }
        throw lastError!
    }

    private let ownsFolder = Mutex(false)

    private init(folder: URL, port: Int, password: String, certificates: TestCertificates?) {
        self.folder = folder
        self.port = port
        self.password = password
        self.certificates = certificates
    }

    /// A CA and server certificate in the folder, the key readable by the server's account
    /// only (PostgreSQL refuses a key others can read).
    private static func serverCertificates(in folder: URL) throws -> TestCertificates {
        let tlsFolder = folder.appendingPathComponent("tls")
        try FileManager.default.createDirectory(at: tlsFolder, withIntermediateDirectories: true)
        let certificates = try TestCertificates.make(in: tlsFolder)
        if geteuid() == 0, let account = getpwnam("postgres") {
            for file in [tlsFolder.path, certificates.keyFile, certificates.certificateFile] {
                chown(file, account.pointee.pw_uid, account.pointee.pw_gid)
            }
        }
        chmod(certificates.keyFile, 0o600)
        return certificates
    }

    deinit {
        if let process = process.withLock({ $0 }) {
            process.killAndReap()
            ChildProcesses.shared.remove(process.pid)
        }
        if ownsFolder.withLock({ $0 }) {
            try? FileManager.default.removeItem(at: folder)
            ChildProcesses.shared.removeFolder(folder.path)
        }
    }

    /// Runs a server program as the account that may run it: `postgres` when we are root.
    private static func asServerAccount(_ program: String, _ arguments: [String]) throws -> (String, [String]) {
        let path = try binFolder() + "/" + program
        guard geteuid() == 0 else { return (path, arguments) }
        return ("/usr/bin/setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", path] + arguments)
    }

    /// initdb with the groupsync role as superuser, SCRAM passwords on TCP, trust on the
    /// folder's Unix socket (only its owner can reach it), then `CREATE DATABASE`.
    private static func initialise(_ folder: URL, password: String) throws {
        let passwordFile = folder.appendingPathComponent("initdb-password")
        try writeSecret(password + "\n", to: passwordFile)
        if geteuid() == 0 {
            guard let account = getpwnam("postgres") else {
                throw CommandError(command: "initdb", status: 1, output: "", errorOutput: "no postgres account (install the postgresql package)")
            }
            chown(folder.path, account.pointee.pw_uid, account.pointee.pw_gid)
            chown(passwordFile.path, account.pointee.pw_uid, account.pointee.pw_gid)
        }
        chmod(folder.path, 0o700)
        let data = folder.appendingPathComponent("data").path
        let (initdb, arguments) = try asServerAccount("initdb", [
            "-D", data, "-U", user, "--pwfile=\(passwordFile.path)", "--auth-host=scram-sha-256", "--auth-local=trust",
            "-E", "UTF8", "--no-locale", "--no-sync",
        ])
        try runCommand(initdb, arguments)
        try? FileManager.default.removeItem(at: passwordFile)
    }

    private func startServer() async throws {
        let (postgres, arguments) = try Self.asServerAccount("postgres", [
            "-D", dataFolder.path, "-p", "\(port)", "-k", folder.path, "-c", "listen_addresses=127.0.0.1",
            // A throwaway cluster: durability buys nothing here.
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
            "-c", "max_connections=100",
        ] + (certificates.map { ["-c", "ssl=on", "-c", "ssl_cert_file=\($0.certificateFile)", "-c", "ssl_key_file=\($0.keyFile)"] } ?? []))
        let spawned = try SpawnedProcess(executable: postgres, arguments: arguments, logPath: logFile.path)
        process.withLock { $0 = spawned }
        ChildProcesses.shared.add(spawned.pid)
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            guard spawned.isRunning else {
                ChildProcesses.shared.remove(spawned.pid)
                let log = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
                throw CommandError(command: "postgres", status: spawned.exitCode ?? -1, output: "", errorOutput: String(log.suffix(2000)))
            }
            if (try? await runCommandDetached(try Self.binFolder() + "/psql", psqlArguments(["-tAc", "SELECT 1"]))) != nil { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        spawned.killAndReap()
        throw CommandError(command: "postgres", status: -1, output: "", errorOutput: "the server did not accept connections within 60 s")
    }

    private func psqlArguments(_ arguments: [String], database: String = "postgres") -> [String] {
        ["-h", folder.path, "-p", "\(port)", "-U", Self.user, "-d", database, "-v", "ON_ERROR_STOP=1"] + arguments
    }

    /// Runs SQL as the superuser over the Unix socket (to set a scene or look behind the
    /// store's back); returns psql's unaligned, tuples-only output.
    @discardableResult
    public func psql(_ sql: String, database: String = TestPostgres.database) async throws -> String {
        try await runCommandDetached(try Self.binFolder() + "/psql", psqlArguments(["-tAc", sql], database: database))
    }

    /// Creates an empty database (for a test that wants a store of its own on this server).
    public func createDatabase(_ name: String) async throws {
        try await psql("CREATE DATABASE \"\(name)\"", database: "postgres")
    }

    /// `url` with another database name.
    public func url(database: String) -> String { "postgres://\(Self.user)@127.0.0.1:\(port)/\(database)" }

    /// Stops the server (fast shutdown: SIGINT) and waits for it to exit.
    public func stop() async {
        guard let process = process.withLock({ current -> SpawnedProcess? in
            defer { current = nil }
            return current
        }) else { return }
        process.signal(SIGINT)
        await process.waitForExit()
        ChildProcesses.shared.remove(process.pid)
    }

    /// Starts the server again on the same port with the same data, after ``stop()``.
    public func restart() async throws {
        try await startServer()
    }
}

/// One PostgreSQL server per test process (initdb takes seconds), started by the first test
/// that asks; each caller gets an empty database of its own on it.
public actor SharedTestPostgres {
    public static let shared = SharedTestPostgres()
    private var server: Task<TestPostgres, any Error>?
    private var databases = 0

    /// The server, started by the first caller; callers arriving meanwhile wait for it.
    public func server() async throws -> TestPostgres {
        if let server { return try await server.value }
        let starting = Task { try await TestPostgres.start() }
        server = starting
        return try await starting.value
    }

    /// A new, empty database: its URL (no password) and a password file for it.
    public func freshDatabase() async throws -> (server: TestPostgres, url: String, passwordFile: String) {
        let server = try await server()
        databases += 1
        let name = "test_\(databases)"
        try await server.createDatabase(name)
        let passwordFile = server.folder.appendingPathComponent("client-password-\(name)")
        try writeSecret(server.password + "\n", to: passwordFile)
        return (server, server.url(database: name), passwordFile.path)
    }
}
