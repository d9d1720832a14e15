import Foundation

/// Where the PostgreSQL store is and how to reach it (`store: {postgres: {url, password_file, tls}}`).
/// The password never sits in the URL: it comes from a file readable by its owner only.
public struct PostgresSettings: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var user: String
    public var database: String
    public var passwordFile: String?
    public var tls: TLS

    public enum TLSMode: String, Sendable, Equatable, CaseIterable {
        /// Plain TCP (a loopback or otherwise protected network only).
        case disable
        /// Encrypted, the server's certificate not checked.
        case require
        /// Encrypted, the certificate checked against `ca_file` (or the system's roots) and
        /// the host name. The default.
        case verifyFull = "verify-full"
    }

    public struct TLS: Sendable, Equatable {
        public var mode: TLSMode
        public var caFile: String?

        public init(mode: TLSMode = .verifyFull, caFile: String? = nil) {
            self.mode = mode
            self.caFile = caFile
        }
    }

    public init(host: String, port: Int = 5432, user: String, database: String, passwordFile: String? = nil, tls: TLS = TLS()) {
        self.host = host
        self.port = port
        self.user = user
        self.database = database
        self.passwordFile = passwordFile
        self.tls = tls
    }

    /// Reads `postgres://USER@HOST[:PORT]/DATABASE` (or `postgresql://`). A password in the
    /// URL, a missing user or database, or anything after the path is refused, naming it.
    public init(url: String, passwordFile: String? = nil, tls: TLS = TLS()) throws(PostgresStoreError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased() else {
            throw PostgresStoreError("it is not a URL; expected postgres://USER@HOST:PORT/DATABASE")
        }
        guard scheme == "postgres" || scheme == "postgresql" else {
            throw PostgresStoreError("the URL's scheme is \"\(scheme)\"; expected postgres://USER@HOST:PORT/DATABASE")
        }
        guard components.password == nil else {
            throw PostgresStoreError("the URL holds a password; put it in a file named by password_file (readable by its owner only)")
        }
        guard let user = components.user, !user.isEmpty else {
            throw PostgresStoreError("the URL names no user; expected postgres://USER@HOST:PORT/DATABASE")
        }
        guard let host = components.host, !host.isEmpty else {
            throw PostgresStoreError("the URL names no host; expected postgres://USER@HOST:PORT/DATABASE")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw PostgresStoreError("the URL names no database (or more than one path segment); expected postgres://USER@HOST:PORT/DATABASE")
        }
        guard components.query == nil, components.fragment == nil else {
            throw PostgresStoreError("the URL has query parameters or a fragment; set TLS with the tls key, the password with password_file")
        }
        if let port = components.port, !(1...65535).contains(port) {
            throw PostgresStoreError("the URL's port \(port) is out of range")
        }
        self.init(
            host: host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port: components.port ?? 5432,
            user: user.removingPercentEncoding ?? user, database: database.removingPercentEncoding ?? database,
            passwordFile: passwordFile, tls: tls)
    }

    /// What messages call the server: `user@host:port/database` (never a password).
    public var label: String { "\(user)@\(host):\(port)/\(database)" }

    /// The password from `passwordFile`: its first line, the line end removed. The file must
    /// be a regular file that not every account may read (as the directory passwords).
    public func readPassword() throws(PostgresStoreError) -> String? {
        guard let passwordFile else { return nil }
        var info = stat()
        guard stat(passwordFile, &info) == 0 else {
            throw PostgresStoreError("cannot read the PostgreSQL password file \(passwordFile): \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw PostgresStoreError("the PostgreSQL password file \(passwordFile) is not a regular file")
        }
        // As the configuration's other secret files: not readable by every account.
        guard info.st_mode & 0o007 == 0 else {
            throw PostgresStoreError(
                "the PostgreSQL password file \(passwordFile) can be read by others (mode \(String(info.st_mode & 0o777, radix: 8))); chmod o-rwx it (0600, or 0640 for a group)")
        }
        guard let data = FileManager.default.contents(atPath: passwordFile), let text = String(data: data, encoding: .utf8) else {
            throw PostgresStoreError("cannot read the PostgreSQL password file \(passwordFile) as UTF-8 text")
        }
        // "\r\n" is one Character in Swift, and a newline.
        let password = text.split(maxSplits: 1, omittingEmptySubsequences: false, whereSeparator: \.isNewline).first.map(String.init) ?? ""
        guard !password.isEmpty else { throw PostgresStoreError("the PostgreSQL password file \(passwordFile) is empty") }
        return password
    }
}

/// A PostgreSQL store error: what went wrong, with the server's own diagnostic when it sent one.
public struct PostgresStoreError: Error, CustomStringConvertible, Equatable {
    public var message: String
    /// The server's SQLSTATE (e.g. 28P01 for a wrong password), when the server answered.
    public var sqlState: String?

    public init(_ message: String, sqlState: String? = nil) {
        self.message = message
        self.sqlState = sqlState
    }

    public var description: String { message }
}
