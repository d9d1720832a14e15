import Foundation
import LDAPClient
import Logging
import SyncCore
import Verification

/// The configuration file (INTERFACE.md): where the store is and which directories to sync.
public struct GroupSyncConfig: Sendable {
    /// The file it was read from; relative paths in it are relative to its folder.
    public var file: String
    /// The file's text as read: stored with each run, so an answer can say which
    /// configuration it used (the file never holds a password).
    public var text: String
    public var store: StoreConfig
    public var directories: [DirectoryConfig]
    /// Profile groups, relay profiles, policies and intents.
    public var policies: PolicySet
    public var server: ServerConfig

    /// The daemon's Unix socket: `server.socket`, or `groupsync.sock` beside the store (the
    /// SQLite file; beside the configuration file for a PostgreSQL store).
    public var controlSocket: String {
        server.socket ?? URL(fileURLWithPath: store.postgres == nil ? store.path : file).deletingLastPathComponent()
            .appendingPathComponent("groupsync.sock").path
    }

    public func directory(named name: String) -> DirectoryConfig? {
        directories.first { $0.name == name }
    }
}

/// How a directory's runs find what changed (`incremental:`).
public struct IncrementalConfig: Sendable, Equatable {
    public enum Method: String, Sendable, CaseIterable {
        /// Whatever the server offers: DirSync, else uSNChanged windows on Active Directory;
        /// RFC 4533 content synchronization on OpenLDAP (with the syncprov overlay).
        case auto
        /// Every run reads the whole directory.
        case off
        case dirsync
        case usn
        case syncrepl
    }

    public var method: Method = .auto
    /// A full run reconciles at least this often (and on `--full`).
    public var fullEvery: Duration = .seconds(24 * 3600)
    /// OpenLDAP: the suffix of the `accesslog` overlay's database (`cn=accesslog`), which
    /// the bind account can read. When set, an incremental run whose changes are member
    /// values only takes them value by value from the log instead of reading the changed
    /// groups whole (``access_log``). Nil: changed groups are read again.
    public var accessLog: String?

    public init(method: Method = .auto, fullEvery: Duration = .seconds(24 * 3600), accessLog: String? = nil) {
        self.method = method
        self.fullEvery = fullEvery
        self.accessLog = accessLog
    }
}

public struct StoreConfig: Sendable, Equatable {
    /// The SQLite file, absolute; empty with `postgres`.
    public var path: String
    /// The PostgreSQL store (`store: {postgres: {url, password_file, tls}}`) instead of SQLite.
    public var postgres: PostgresSettings?

    public init(path: String, postgres: PostgresSettings? = nil) {
        self.path = path
        self.postgres = postgres
    }

    /// How messages name the store.
    public var location: String { postgres.map { "postgres://" + $0.label } ?? path }
}

/// One LDAP source.
public struct DirectoryConfig: Sendable {
    public enum Flavour: String, Sendable, CaseIterable {
        case auto, openldap, activedirectory
    }

    public var name: String
    public var url: String
    public var startTLS: Bool
    public var tls: TLSOptions
    public var bind: BindConfig?
    public var flavour: Flavour
    public var pageSize: Int
    public var timeout: Duration
    public var users: SearchConfig
    public var groups: SearchConfig
    /// Overrides of the flavour's attribute defaults (nil = the flavour's default).
    public var attributes: AttributeOverrides
    public var limits: SafetyLimits
    public var schedule: ScheduleConfig?
    public var incremental = IncrementalConfig()

    /// Connects and binds as configured (reading the password now).
    public func openSession(logger: Logger) async throws -> LDAPSession {
        let credentials: LDAPCredentials
        if let bind {
            credentials = .simple(dn: bind.dn, password: try bind.readPassword())
        } else {
            credentials = .anonymous
        }
        return try await LDAPSession.connect(connectionOptions, credentials: credentials, logger: logger)
    }

    /// The attribute mapping in effect for a flavour: its defaults with the configured overrides.
    public func mapping(for flavour: DirectoryFlavour) -> AttributeMapping {
        attributes.applied(to: flavour == .activeDirectory ? .activeDirectory : .openLDAP)
    }

    /// The mapping for the configured flavour (`auto` counts as OpenLDAP until a server says otherwise).
    public var mapping: AttributeMapping { mapping(for: flavour == .activedirectory ? .activeDirectory : .openLDAP) }

    /// This directory as a server of `flavour` reads it: on Active Directory, search filters
    /// not given in the configuration default to AD's users and groups.
    public func effective(for flavour: DirectoryFlavour) -> DirectoryConfig {
        guard flavour == .activeDirectory else { return self }
        var copy = self
        if !users.filterGiven { copy.users.filter = "(&(objectCategory=person)(objectClass=user))" }
        if !groups.filterGiven { copy.groups.filter = "(objectClass=group)" }
        return copy
    }

    public var connectionOptions: LDAPConnectionOptions {
        LDAPConnectionOptions(url: url, startTLS: startTLS, tls: tls, connectTimeout: timeout, operationTimeout: timeout)
    }
}

public struct BindConfig: Sendable {
    public enum Secret: Sendable, Equatable {
        case file(String)
        case environment(String)
    }

    public var dn: String
    public var password: Secret

    /// Reads the password now, as bytes. A single trailing newline of a file is dropped.
    /// `environment` answers `password_env`: the process's own unless a test passes one.
    public func readPassword(environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) -> [UInt8] {
        switch password {
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ConfigError(file: path, line: nil, keyPath: "bind.password_file", message: "cannot read the password file")
            }
            var bytes = [UInt8](data)
            if bytes.last == 0x0A { bytes.removeLast() }
            if bytes.last == 0x0D { bytes.removeLast() }
            guard !bytes.isEmpty else {
                throw ConfigError(file: path, line: nil, keyPath: "bind.password_file", message: Self.emptyPassword)
            }
            return bytes
        case .environment(let name):
            guard let value = environment[name] else {
                throw ConfigError(file: "environment", line: nil, keyPath: "bind.password_env", message: "the variable \(name) is not set")
            }
            guard !value.isEmpty else {
                throw ConfigError(file: "environment", line: nil, keyPath: "bind.password_env", message: "the variable \(name) is empty: " + Self.emptyPassword)
            }
            return Array(value.utf8)
        }
    }

    /// RFC 4513 5.1.2: a simple bind with a DN and no password is an unauthenticated bind,
    /// which many servers accept as anonymous. Never send one by accident.
    static let emptyPassword = "the password is empty; a simple bind with an empty password is an unauthenticated (anonymous) bind, which groupsync never sends"
}

public struct SearchConfig: Sendable, Equatable {
    public var base: String
    public var scope: LDAPSearchRequest.Scope
    public var filter: String
    /// False when `filter` is the flavour's default rather than the configuration's.
    public var filterGiven = true

    public init(base: String, scope: LDAPSearchRequest.Scope, filter: String, filterGiven: Bool = true) {
        self.base = base
        self.scope = scope
        self.filter = filter
        self.filterGiven = filterGiven
    }
}

public struct AttributeOverrides: Sendable, Equatable {
    public var id: String?
    public var username: String?
    public var mail: String?
    public var aliases: [String]?
    public var displayName: String?
    public var groupName: String?
    public var member: [String]?
    public var memberUID: [String]?
    public var disabled: String?
    /// `""` turns skipping unchanged groups off.
    public var changeMarker: String?

    public func applied(to defaults: AttributeMapping) -> AttributeMapping {
        var mapping = defaults
        if let id {
            mapping.id = id
            mapping.idIsBinaryGUID = id.lowercased() == "objectguid"
        }
        if let username { mapping.username = username }
        if let mail { mapping.mail = mail }
        if let aliases { mapping.aliases = aliases }
        if let displayName { mapping.displayName = displayName }
        if let groupName { mapping.groupName = groupName }
        if let member { mapping.member = member }
        if let memberUID { mapping.memberUID = memberUID }
        if let disabled { mapping.disabled = disabled }
        if let changeMarker { mapping.changeMarker = changeMarker.isEmpty ? nil : changeMarker }
        return mapping
    }
}

public struct ScheduleConfig: Sendable, Equatable {
    public var every: Duration?
    public var jitter: Duration?
    /// Fixed times of day, `HH:MM`, in the daemon's local time zone.
    public var at: [String]
    /// Run once when the daemon starts.
    public var onStart: Bool = false
    /// How often a failed scheduled run is retried (with doubling back-off) before waiting
    /// for the next scheduled time.
    public var retries: Int = 5
    /// The first retry's delay; each further retry doubles it (with jitter).
    public var retryAfter: Duration = .seconds(30)
    /// Watch mode: keep a content synchronization search open and run incrementally on
    /// each batch of changes (OpenLDAP with syncprov).
    public var watch = false
    /// How long watch mode gathers changes before it runs.
    public var batchWindow: Duration = .seconds(2)

    public init(every: Duration? = nil, jitter: Duration? = nil, at: [String] = [], onStart: Bool = false, retries: Int = 5, retryAfter: Duration = .seconds(30)) {
        self.every = every
        self.jitter = jitter
        self.at = at
        self.onStart = onStart
        self.retries = retries
        self.retryAfter = retryAfter
    }
}

/// The daemon's control API (`server:`).
public struct ServerConfig: Sendable, Equatable {
    /// The Unix socket, absolute; nil for none.
    public var socket: String?
    /// `host:port` for the TCP listener; nil for none.
    public var listen: String?
    public var tokenFile: String?
    /// `/readyz` fails when a directory's last run has been failing for longer than this.
    public var readinessGrace: Duration
    /// How this daemon names itself to others sharing a PostgreSQL store (default host:pid).
    public var name: String?
    /// How long a daemon's lease on a directory lasts unrenewed (PostgreSQL store): the most
    /// a directory waits for another daemon after its owner dies.
    public var lease: Duration

    public init(
        socket: String? = nil, listen: String? = nil, tokenFile: String? = nil, readinessGrace: Duration = .seconds(3600), name: String? = nil,
        lease: Duration = .seconds(15)
    ) {
        self.socket = socket
        self.listen = listen
        self.tokenFile = tokenFile
        self.readinessGrace = readinessGrace
        self.name = name
        self.lease = lease
    }
}
