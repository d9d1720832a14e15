import CLDAP
import Foundation

/// The single owner of one libldap handle (`LDAP *`). Every call blocks the calling
/// thread, so it is used only from ``LDAPSession``'s dedicated thread; it is deliberately
/// not `Sendable`. `deinit` unbinds and frees the handle.
final class LDAPConnection {
    let options: LDAPConnectionOptions
    private(set) var handle: OpaquePointer
    private(set) var isConnected = false
    private var boundAs: LDAPCredentials = .anonymous

    init(options: LDAPConnectionOptions) throws {
        self.options = options
        var ld: OpaquePointer?
        let rc = ldap_initialize(&ld, options.url)
        guard rc == LDAP_SUCCESS, let ld else {
            throw LDAPError(
                operation: "parse LDAP URL \"\(options.url)\"", code: LDAPResultCode(rawValue: rc),
                diagnosticMessage: "expected ldap://host[:port], ldaps://host[:port] or ldapi://%2Fpath%2Fsocket")
        }
        handle = ld
        try configure()
    }

    deinit {
        ldap_unbind_ext(handle, nil, nil)
    }

    var bindDescription: String { boundAs.logDescription }

    // MARK: Options

    private func configure() throws {
        try setInt(LDAP_OPT_PROTOCOL_VERSION, LDAP_VERSION3, "protocol version")
        guard ldap_set_option(handle, LDAP_OPT_REFERRALS, CLDAP_OPT_OFF()) == LDAP_OPT_SUCCESS else {
            throw optionError("referral chasing off")
        }
        try setTimeval(LDAP_OPT_NETWORK_TIMEOUT, options.connectTimeout, "network timeout")
        try setTimeval(LDAP_OPT_TIMEOUT, options.operationTimeout, "operation timeout")
        guard !options.usesLDAPI else { return }
        // TLS: set every option on this handle, then build a context of its own (NEWCTX)
        // so that the process-wide defaults and other connections cannot leak in.
        let tls = options.tls
        try setInt(
            LDAP_OPT_X_TLS_REQUIRE_CERT, tls.verify ? LDAP_OPT_X_TLS_DEMAND : LDAP_OPT_X_TLS_NEVER,
            "TLS certificate verification")
        try setInt(LDAP_OPT_X_TLS_PROTOCOL_MIN, CLDAP_TLS_PROTOCOL_TLS1_2(), "TLS minimum protocol")
        if let ca = tls.caFile { try setString(LDAP_OPT_X_TLS_CACERTFILE, ca, "TLS CA file") }
        if let cert = tls.certificateFile { try setString(LDAP_OPT_X_TLS_CERTFILE, cert, "TLS certificate file") }
        if let key = tls.keyFile { try setString(LDAP_OPT_X_TLS_KEYFILE, key, "TLS key file") }
        if options.usesLDAPS || options.startTLS {
            try setInt(LDAP_OPT_X_TLS_NEWCTX, 0, "a new TLS context")
        }
    }

    private func setInt(_ option: Int32, _ value: Int32, _ what: String) throws {
        var value = value
        guard ldap_set_option(handle, option, &value) == LDAP_OPT_SUCCESS else { throw optionError(what) }
    }

    private func setString(_ option: Int32, _ value: String, _ what: String) throws {
        let rc = value.withCString { ldap_set_option(handle, option, $0) }
        guard rc == LDAP_OPT_SUCCESS else { throw optionError(what) }
    }

    private func setTimeval(_ option: Int32, _ duration: Duration, _ what: String) throws {
        var tv = timeval(duration)
        guard ldap_set_option(handle, option, &tv) == LDAP_OPT_SUCCESS else { throw optionError(what) }
    }

    private func optionError(_ what: String) -> LDAPError {
        lastError(operation: "set \(what) for \(options.url)", fallback: .localError)
    }

    // MARK: Connect and bind

    /// Opens the TCP (or Unix socket) connection, completes the TLS handshake for
    /// `ldaps://`, and runs StartTLS when asked to.
    func connect() throws {
        let connectRC = ldap_connect(handle)
        guard connectRC == LDAP_SUCCESS else {
            throw explainTLSFailure(lastError(operation: "connect to \(options.url)", code: connectRC))
        }
        if options.startTLS {
            let rc = ldap_start_tls_s(handle, nil, nil)
            guard rc == LDAP_SUCCESS else {
                throw explainTLSFailure(lastError(operation: "connect to \(options.url) with StartTLS", code: rc))
            }
        }
        isConnected = true
    }

    /// libldap (with GnuTLS) reports a refused certificate only as "Connect error" or
    /// "Can't contact LDAP server" with "(unknown error code)". To tell an admin what is
    /// wrong, connect once more without verification: if that works, the server is there and
    /// its certificate is what failed.
    private func explainTLSFailure(_ error: LDAPError) -> LDAPError {
        guard options.tls.verify, options.usesLDAPS || options.startTLS else { return error }
        var probeOptions = options
        probeOptions.tls.verify = false
        probeOptions.tls.caFile = nil
        guard let probe = try? LDAPConnection(options: probeOptions), (try? probe.connect()) != nil else { return error }
        var explained = error
        explained.code = .connectError
        explained.isTLSFailure = true
        let trust = options.tls.caFile.map { "the CA file \($0)" } ?? "the system's trusted CAs"
        explained.diagnosticMessage = "TLS: the server's certificate was not accepted: it is not issued by \(trust), "
            + "has expired, or does not name the host in \(options.url) (libldap said: \(error.diagnosticMessage ?? error.code.text)); "
            + "set tls.ca_file to the CA that issued it, or connect by the name the certificate carries"
        return explained
    }

    func bind(_ credentials: LDAPCredentials) throws {
        switch credentials {
        case .anonymous:
            boundAs = .anonymous
            return
        case .simple(let dn, let password):
            var password = password
            defer { for i in password.indices { password[i] = 0 } }
            try password.withUnsafeMutableBytes { raw in
                var cred = berval(bv_len: ber_len_t(raw.count), bv_val: raw.baseAddress?.assumingMemoryBound(to: CChar.self))
                try saslBind(dn: dn, mechanism: nil, credentials: &cred, operation: "bind as \"\(dn)\"")
            }
        case .saslExternal:
            // An initial response that is present but empty (no authorization identity):
            // a NULL bv_val would omit it and make the server ask for another step.
            var nothing: CChar = 0
            try withUnsafeMutablePointer(to: &nothing) { pointer in
                var empty = berval(bv_len: 0, bv_val: pointer)
                try saslBind(dn: nil, mechanism: "EXTERNAL", credentials: &empty, operation: "SASL EXTERNAL bind")
            }
        }
        boundAs = credentials
    }

    private func saslBind(dn: String?, mechanism: String?, credentials: inout berval, operation: String) throws {
        var msgid: Int32 = 0
        let rc = withOptionalCString(dn) { dnPtr in
            withOptionalCString(mechanism) { mechPtr in
                ldap_sasl_bind(handle, dnPtr, mechPtr, &credentials, nil, nil, &msgid)
            }
        }
        guard rc == LDAP_SUCCESS else { throw lastError(operation: operation, code: rc) }
        let message = try waitForMessage(msgid: msgid, operation: operation)
        defer { ldap_msgfree(message) }
        try checkResult(message, operation: operation)
    }

    // MARK: Waiting for and reading results

    /// Waits up to the operation timeout for the next message of `msgid`. A timeout abandons
    /// the operation; a broken connection throws `serverDown` with libldap's diagnostic.
    /// Waits up to `timeout` for a message; nil when none came (the request stays open).
    func pollMessage(msgid: Int32, operation: String, timeout: Duration) throws -> OpaquePointer? {
        var tv = timeval(timeout)
        var message: OpaquePointer?
        let rc = ldap_result(handle, msgid, LDAP_MSG_ONE, &tv, &message)
        switch rc {
        case 0: return nil
        case -1: throw lastError(operation: operation, fallback: .serverDown)
        default:
            guard let message else { throw lastError(operation: operation, fallback: .decodingError) }
            return message
        }
    }

    func waitForMessage(msgid: Int32, operation: String) throws -> OpaquePointer {
        var tv = timeval(options.operationTimeout)
        var message: OpaquePointer?
        let rc = ldap_result(handle, msgid, LDAP_MSG_ONE, &tv, &message)
        switch rc {
        case 0:
            ldap_abandon_ext(handle, msgid, nil, nil)
            throw LDAPError(
                operation: operation, code: .timeout,
                diagnosticMessage: "no answer from \(options.url) within \(options.operationTimeout.secondsText)")
        case -1:
            throw lastError(operation: operation, fallback: .serverDown)
        default:
            guard let message else { throw lastError(operation: operation, fallback: .decodingError) }
            return message
        }
    }

    /// Parses an LDAPResult message and throws unless its result code is success.
    /// Returns the response controls, which the caller must free with `ldap_controls_free`.
    @discardableResult
    func checkResult(_ message: OpaquePointer, operation: String, keepControls: Bool = false) throws
        -> UnsafeMutablePointer<UnsafeMutablePointer<LDAPControl>?>?
    {
        var code: Int32 = 0
        var matched: UnsafeMutablePointer<CChar>?
        var diagnostic: UnsafeMutablePointer<CChar>?
        var referrals: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        var controls: UnsafeMutablePointer<UnsafeMutablePointer<LDAPControl>?>?
        let rc = ldap_parse_result(handle, message, &code, &matched, &diagnostic, &referrals, &controls, 0)
        defer {
            ldap_memfree(matched)
            ldap_memfree(diagnostic)
            ldap_memvfree(referrals.map { UnsafeMutableRawPointer($0).assumingMemoryBound(to: UnsafeMutableRawPointer?.self) })
        }
        guard rc == LDAP_SUCCESS else {
            ldap_controls_free(controls)
            throw lastError(operation: operation, code: rc)
        }
        guard code == LDAP_SUCCESS else {
            ldap_controls_free(controls)
            throw LDAPError(
                operation: operation, code: LDAPResultCode(rawValue: code),
                diagnosticMessage: diagnostic.map { String(cString: $0) },
                matchedDN: matched.map { String(cString: $0) },
                referrals: stringArray(referrals))
        }
        if keepControls { return controls }
        ldap_controls_free(controls)
        return nil
    }

    /// The error libldap recorded on this handle: its result code and diagnostic message.
    func lastError(operation: String, code: Int32? = nil, fallback: LDAPResultCode = .other) -> LDAPError {
        var stored: Int32 = 0
        ldap_get_option(handle, LDAP_OPT_RESULT_CODE, &stored)
        var diagnostic: UnsafeMutablePointer<CChar>?
        ldap_get_option(handle, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diagnostic)
        defer { ldap_memfree(diagnostic) }
        let resolved = code ?? (stored != LDAP_SUCCESS ? stored : fallback.rawValue)
        return LDAPError(
            operation: operation, code: LDAPResultCode(rawValue: resolved),
            diagnosticMessage: diagnostic.map { String(cString: $0) })
    }
}

// MARK: Small C helpers

func withOptionalCString<R>(_ string: String?, _ body: (UnsafePointer<CChar>?) throws -> R) rethrows -> R {
    guard let string else { return try body(nil) }
    return try string.withCString { try body($0) }
}

func stringArray(_ array: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> [String] {
    guard let array else { return [] }
    var result: [String] = []
    var index = 0
    while let item = array[index] {
        result.append(String(cString: item))
        index += 1
    }
    return result
}

extension timeval {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self.init(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}

extension Duration {
    var secondsText: String {
        let (seconds, attoseconds) = components
        if attoseconds == 0 { return "\(seconds)s" }
        return String(format: "%.1fs", Double(seconds) + Double(attoseconds) / 1e18)
    }
}

extension LDAPConnection {
    /// The "Who am I?" extended operation (RFC 4532): the authorization identity the server
    /// gave this connection, e.g. `dn:cn=groupsync,ou=service,dc=example,dc=com`; "" when anonymous.
    func whoAmI() throws -> String {
        let operation = "who am I on \(options.url)"
        var msgid: Int32 = 0
        let rc = ldap_whoami(handle, nil, nil, &msgid)
        guard rc == LDAP_SUCCESS else { throw lastError(operation: operation, code: rc) }
        let message = try waitForMessage(msgid: msgid, operation: operation)
        defer { ldap_msgfree(message) }
        try checkResult(message, operation: operation)
        var authzid: UnsafeMutablePointer<berval>?
        let parsed = ldap_parse_whoami(handle, message, &authzid)
        defer { ber_bvfree(authzid) }
        guard parsed == LDAP_SUCCESS else { throw lastError(operation: operation, code: parsed) }
        guard let authzid, let bytes = authzid.pointee.bv_val else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: Int(authzid.pointee.bv_len)), as: UTF8.self)
    }
}
