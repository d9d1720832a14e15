import CLDAP
import Foundation
import Logging

/// A connection to one directory server, safe to use from any task.
///
/// Each session owns one libldap handle and one dedicated thread on which every blocking
/// libldap call runs (the actor's executor). Operations on one session run one at a time.
/// Close it with ``close()``, or let it go: the handle is unbound when the session is freed.
public actor LDAPSession {
    private let executor: LDAPThreadExecutor
    private var connection: LDAPConnection?
    private var searches: [UInt64: SearchCursor] = [:]
    /// Paged searches settled because another started (see ``startSearch(_:)``).
    private var ended: Set<UInt64> = []

    /// What reading on a paged search gets once another paged search started on the session.
    static let endedByAnotherSearch = LDAPError(
        operation: "search", code: .operationsError,
        diagnosticMessage: "another paged search started on this session before this one was read to the end; a server keeps one paged search per connection")
    private var nextSearchID: UInt64 = 0
    public nonisolated let options: LDAPConnectionOptions
    private let logger: Logger

    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    private init(options: LDAPConnectionOptions, connection: LDAPConnection, logger: Logger) {
        self.options = options
        self.connection = connection
        self.logger = logger
        self.executor = LDAPThreadExecutor(name: "ldap \(options.url)")
    }

    deinit {
        executor.shutdown()
    }

    /// Connects (TCP or Unix socket, TLS for `ldaps://`, StartTLS when configured) and binds.
    /// Throws ``LDAPError``: `serverDown`/`connectError`/`timeout` when the server cannot be
    /// reached, `invalidCredentials` (49) for a wrong password, with the server's message.
    public static func connect(
        _ options: LDAPConnectionOptions,
        credentials: LDAPCredentials = .anonymous,
        logger: Logger = Logger(label: "groupsync.ldap")
    ) async throws -> LDAPSession {
        ignoreSIGPIPE
        let session = LDAPSession(options: options, connection: try LDAPConnection(options: options), logger: logger)
        try await session.open(credentials: credentials)
        return session
    }

    /// Connects (TCP or Unix socket, TLS for `ldaps://`, StartTLS when configured) without
    /// binding: `groupsync check` tests the connection and the bind as separate steps.
    public static func connectWithoutBind(_ options: LDAPConnectionOptions, logger: Logger = Logger(label: "groupsync.ldap")) async throws -> LDAPSession {
        ignoreSIGPIPE
        let session = LDAPSession(options: options, connection: try LDAPConnection(options: options), logger: logger)
        try await session.openWithoutBind()
        return session
    }

    private func openWithoutBind() throws {
        try requireConnection("connect").connect()
    }

    /// What the TLS layer of this connection negotiated; nil without TLS.
    public func tlsDetails() throws -> TLSDetails? {
        try requireConnection("read the TLS session").tlsDetails()
    }

    private func open(credentials: LDAPCredentials) throws {
        let connection = try requireConnection("connect")
        try connection.connect()
        logger.debug("connected", metadata: ["url": "\(options.url)", "start_tls": "\(options.startTLS)"])
        try connection.bind(credentials)
        logger.debug("bound", metadata: ["url": "\(options.url)", "as": "\(credentials.logDescription)"])
    }

    /// Binds again on the same connection, e.g. to check a user's password.
    public func bind(_ credentials: LDAPCredentials) throws {
        try requireConnection("bind").bind(credentials)
    }

    /// The authorization identity the server gave this session (RFC 4532 "Who am I?").
    public func whoAmI() throws -> String {
        try requireConnection("who am I").whoAmI()
    }

    /// Unbinds and closes the connection. Later calls throw.
    public func close() {
        for cursor in searches.values { connection?.abandon(cursor) }
        searches.removeAll()
        connection = nil
    }

    // MARK: Search

    /// Streams the results of a search: entries as they arrive, one page at a time, so
    /// memory stays bounded by the page size whatever the size of the result.
    /// The sequence throws ``LDAPError`` for any result other than success (size limit,
    /// time limit, no such object, a referral, a dropped connection).
    public nonisolated func search(_ request: LDAPSearchRequest) -> LDAPSearchSequence {
        LDAPSearchSequence(session: self, request: request)
    }

    /// Runs a search and gathers all of it; for small results only (root DSE, one user).
    public func searchAll(_ request: LDAPSearchRequest) throws -> LDAPSearchResult {
        let id = try startSearch(request)
        defer { cancelSearch(id) }
        var result = LDAPSearchResult()
        while let batch = try nextBatch(id) {
            for event in batch {
                switch event {
                case .entry(let entry): result.entries.append(entry)
                case .reference(let urls): result.references.append(urls)
                case .intermediate(let message): result.intermediates.append(message)
                case .done(let controls): result.controls = controls
                }
            }
        }
        return result
    }

    func startSearch(_ request: LDAPSearchRequest) throws -> UInt64 {
        let connection = try requireConnection("search")
        logger.debug("search", metadata: [
            "ldapsearch": "\(request.ldapsearchCommand(url: options.url, bindDN: connection.bindDescription))",
        ])
        // A server keeps one paged-results state per connection (OpenLDAP does): a paged
        // search still open here — typically one whose consumer stopped early, with its next
        // page already requested — is settled first, its outstanding page read and dropped,
        // or that page would be answered into the new search's state ("paged results cookie
        // is invalid"). Reading it on, it fails with ``endedByAnotherSearch``.
        if request.pageSize != nil {
            for (id, cursor) in searches where cursor.request.pageSize != nil && !cursor.request.persistent {
                connection.settle(cursor)
                searches[id] = nil
                ended.insert(id)
            }
        }
        nextSearchID += 1
        searches[nextSearchID] = SearchCursor(request: request)
        return nextSearchID
    }

    func nextBatch(_ id: UInt64) throws -> [LDAPSearchEvent]? {
        guard let cursor = searches[id] else {
            if ended.remove(id) != nil { throw Self.endedByAnotherSearch }
            return nil
        }
        let connection = try requireConnection("search")
        do {
            guard let batch = try connection.nextBatch(cursor) else {
                searches[id] = nil
                logger.debug("search done", metadata: ["entries": "\(cursor.entries)", "pages": "\(cursor.pages)"])
                return nil
            }
            return batch
        } catch {
            connection.abandon(cursor)
            searches[id] = nil
            throw error
        }
    }

    /// Searches started and neither finished nor abandoned (for tests).
    var openSearches: Int { searches.count }

    func cancelSearch(_ id: UInt64) {
        ended.remove(id)
        guard let cursor = searches.removeValue(forKey: id) else { return }
        connection?.abandon(cursor)
    }

    private func requireConnection(_ operation: String) throws -> LDAPConnection {
        guard let connection else {
            throw LDAPError(operation: "\(operation) on \(options.url)", code: .serverDown, diagnosticMessage: "the session is closed")
        }
        return connection
    }
}

/// libldap writes to sockets with plain write(2); a peer that went away must surface as an
/// error (EPIPE → LDAP_SERVER_DOWN), not kill the process with SIGPIPE.
private let ignoreSIGPIPE: Void = {
    signal(SIGPIPE, SIG_IGN)
}()
