import Foundation

/// How to reach and talk to one directory server.
public struct LDAPConnectionOptions: Sendable {
    /// `ldap://host:port`, `ldaps://host:port` or `ldapi://%2Fpath%2Fto%2Fsocket`.
    public var url: String
    /// Upgrade an `ldap://` connection with the StartTLS extended operation before anything else.
    public var startTLS: Bool
    public var tls: TLSOptions
    /// Limit for establishing the TCP connection (and the TLS handshake).
    public var connectTimeout: Duration
    /// Limit for each wait on the server during an operation, and the server-side time limit of searches.
    public var operationTimeout: Duration

    public init(
        url: String,
        startTLS: Bool = false,
        tls: TLSOptions = TLSOptions(),
        connectTimeout: Duration = .seconds(10),
        operationTimeout: Duration = .seconds(30)
    ) {
        self.url = url
        self.startTLS = startTLS
        self.tls = tls
        self.connectTimeout = connectTimeout
        self.operationTimeout = operationTimeout
    }

    /// True when the URL's scheme is `ldaps`.
    public var usesLDAPS: Bool { url.lowercased().hasPrefix("ldaps://") }
    /// True when the URL's scheme is `ldapi` (a Unix socket).
    public var usesLDAPI: Bool { url.lowercased().hasPrefix("ldapi://") }
}

/// TLS settings for LDAPS and StartTLS. Every connection gets a TLS context of its own built
/// from these, so two connections with different CAs never share trust.
public struct TLSOptions: Sendable, Equatable {
    /// PEM file with the CA certificates to trust; nil means the system's default trust store.
    public var caFile: String?
    /// Client certificate and key (PEM), for servers that ask for one.
    public var certificateFile: String?
    public var keyFile: String?
    /// Verify the server's certificate chain and host name. Turning this off must be explicit.
    public var verify: Bool

    public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil, verify: Bool = true) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.verify = verify
    }
}

/// How to authenticate after connecting.
public enum LDAPCredentials: Sendable {
    /// No bind: the server treats the connection as anonymous.
    case anonymous
    /// Simple bind. The password is bytes so the caller can read it from a file or the
    /// environment without turning it into a String that lingers; it is never logged.
    case simple(dn: String, password: [UInt8])
    /// SASL EXTERNAL: the identity of the transport (a Unix socket peer over `ldapi://`,
    /// or a TLS client certificate).
    case saslExternal

    /// A description fit for logs and errors: never contains the password.
    public var logDescription: String {
        switch self {
        case .anonymous: "anonymous"
        case .simple(let dn, _): dn.isEmpty ? "anonymous (empty DN)" : dn
        case .saslExternal: "SASL EXTERNAL"
        }
    }
}
