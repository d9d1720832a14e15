import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import SyncConfig
import Synchronization

/// One connection to the store's PostgreSQL server, used synchronously like the SQLite
/// store: a call blocks its thread until the server has answered.
///
/// The store's callers are synchronous (the sync run's thread, the commands, the daemon's
/// index builder), so the session waits on PostgresNIO's futures, which complete on NIO's
/// event loops — never on Swift's cooperative pool — and so cannot deadlock behind the
/// threads that wait. Not for use on an event loop thread.
///
/// One session serves one caller at a time (PostgreSQL runs one statement at a time per
/// connection); `lock` serialises callers that share it.
public final class PostgresSession: @unchecked Sendable {
    public let settings: PostgresSettings
    let connection: PostgresConnection
    let logger: Logger
    private let lock = NSLock()
    private var inTransaction = false
    /// Set by ``close()``: a statement on a closed connection is refused at once (PostgresNIO
    /// can leave its future waiting forever).
    private var closed = false

    private init(settings: PostgresSettings, connection: PostgresConnection, logger: Logger) {
        self.settings = settings
        self.connection = connection
        self.logger = logger
    }

    deinit {
        try? connection.close().wait()
    }

    /// Connects and authenticates. Errors name the server and carry its own diagnostic
    /// (a wrong password, an unknown database, TLS refused).
    public static func connect(
        _ settings: PostgresSettings, connectTimeout: Duration = .seconds(10), logger: Logger = Logger(label: "groupsync.postgres")
    ) throws(PostgresStoreError) -> PostgresSession {
        let password = try settings.readPassword()
        var configuration = PostgresConnection.Configuration(
            host: settings.host, port: settings.port, username: settings.user, password: password, database: settings.database,
            tls: try tls(settings))
        configuration.options.connectTimeout = .nanoseconds(Int64(connectTimeout.components.seconds) * 1_000_000_000)
        configuration.options.additionalStartupParameters = [("application_name", "groupsync")]
        let connection: PostgresConnection
        do {
            connection = try PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration, id: nextID(), logger: logger
            ).wait()
        } catch {
            throw describe(error, settings: settings, connecting: true)
        }
        return PostgresSession(settings: settings, connection: connection, logger: logger)
    }

    private static let ids = Mutex(0)
    private static func nextID() -> Int {
        ids.withLock { value in
            value += 1
            return value
        }
    }

    private static func tls(_ settings: PostgresSettings) throws(PostgresStoreError) -> PostgresConnection.Configuration.TLS {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch settings.tls.mode {
        case .disable:
            return .disable
        case .require:
            configuration.certificateVerification = .none
        case .verifyFull:
            configuration.certificateVerification = .fullVerification
            if let caFile = settings.tls.caFile {
                guard FileManager.default.isReadableFile(atPath: caFile) else {
                    throw PostgresStoreError("cannot read the PostgreSQL CA file \(caFile) (tls.ca_file)")
                }
                configuration.trustRoots = .file(caFile)
            }
        }
        do {
            return .require(try NIOSSLContext(configuration: configuration))
        } catch {
            throw PostgresStoreError("cannot set up TLS for PostgreSQL at \(settings.host):\(settings.port): \(error)")
        }
    }

    /// Runs one statement and returns its rows.
    @discardableResult
    public func query(_ query: PostgresQuery) throws(PostgresStoreError) -> [PostgresRow] {
        lock.lock()
        defer { lock.unlock() }
        return try run(query)
    }

    private func run(_ query: PostgresQuery) throws(PostgresStoreError) -> [PostgresRow] {
        guard !closed else {
            throw PostgresStoreError("PostgreSQL at \(settings.host):\(settings.port): the connection was closed")
        }
        do {
            let result = try connection.query(query, logger: logger).wait()
            return Array(result.rows)
        } catch {
            throw Self.describe(error, settings: settings, connecting: false)
        }
    }

    /// How a transaction starts.
    public enum Isolation: String, Sendable {
        /// PostgreSQL's default (READ COMMITTED).
        case readCommitted = "BEGIN"
        /// One snapshot for every statement, read only: a consistent copy of many tables.
        case snapshotReadOnly = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
    }

    /// Runs `body` in one transaction: COMMIT when it returns, ROLLBACK when it throws (the
    /// error is rethrown). Other callers of this session wait until it ends.
    public func transaction<T>(_ isolation: Isolation = .readCommitted, _ body: (Transaction) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        precondition(!inTransaction, "PostgresSession.transaction is not reentrant")
        inTransaction = true
        defer { inTransaction = false }
        _ = try run(PostgresQuery(unsafeSQL: isolation.rawValue))
        let value: T
        do {
            value = try body(Transaction(session: self))
        } catch {
            _ = try? run("ROLLBACK")
            throw error
        }
        _ = try run("COMMIT")
        return value
    }

    /// The statements of one transaction (only valid inside ``PostgresSession/transaction(_:)``).
    public struct Transaction {
        let session: PostgresSession

        @discardableResult
        public func query(_ query: PostgresQuery) throws(PostgresStoreError) -> [PostgresRow] {
            try session.run(query)
        }
    }

    /// Closes the connection (further calls fail).
    /// Closes the connection; later statements are refused. Closing twice does nothing.
    public func close() {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { return }
        closed = true
        try? connection.close().wait()
    }

    /// A message for `error` that says what failed where, with the server's own diagnostic
    /// (message, SQLSTATE, detail, hint) when there is one. PostgresNIO's own description
    /// is deliberately vague; its fields are not.
    static func describe(_ error: any Error, settings: PostgresSettings, connecting: Bool) -> PostgresStoreError {
        let place = "PostgreSQL at \(settings.host):\(settings.port)"
        guard let error = error as? PSQLError else {
            return PostgresStoreError((connecting ? "cannot connect to \(place): " : "\(place): ") + "\(error)")
        }
        if let info = error.serverInfo, let message = info[.message] {
            var text = "\(place) (database \(settings.database), user \(settings.user)): \(message)"
            if let detail = info[.detail] { text += "; " + detail }
            if let hint = info[.hint] { text += " (hint: \(hint))" }
            if let state = info[.sqlState] { text += " [SQLSTATE \(state)]" }
            return PostgresStoreError(text, sqlState: info[.sqlState])
        }
        let cause = error.underlying.map { ": \($0)" } ?? ""
        if cause.contains("CERTIFICATE_VERIFY_FAILED") {
            return PostgresStoreError(
                "cannot connect to \(place): its TLS certificate was refused (not signed by a trusted CA, or not for host "
                    + "\(settings.host)): set tls.ca_file to the CA that signed it, or connect by the name the certificate carries\(cause)")
        }
        switch error.code {
        case .connectionError:
            return PostgresStoreError("cannot connect to \(place)\(cause)")
        case .sslUnsupported:
            return PostgresStoreError("\(place) does not offer TLS; set tls.mode: disable only on a network you trust")
        case .failedToAddSSLHandler:
            return PostgresStoreError("cannot start TLS with \(place)\(cause)")
        case .authMechanismRequiresPassword:
            return PostgresStoreError("\(place) asks user \(settings.user) for a password: set password_file")
        case .serverClosedConnection, .uncleanShutdown:
            return PostgresStoreError("\(place) closed the connection\(cause)")
        case .unsupportedAuthMechanism:
            return PostgresStoreError("\(place) asks for an authentication method groupsync does not support\(cause)")
        default:
            return PostgresStoreError((connecting ? "cannot connect to \(place): " : "\(place): ") + "\(error.code)\(cause)")
        }
    }
}
