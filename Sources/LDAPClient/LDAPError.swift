import Foundation

/// The one error type of LDAPClient. It keeps what an admin needs to find the cause:
/// the operation that failed, the LDAP result code, libldap's text for it, and the
/// server's own diagnostic message (e.g. Active Directory's `data 52e`).
public struct LDAPError: Error, Sendable, CustomStringConvertible {
    /// The operation that failed, in words: "connect to ldaps://dc1:636", "bind as cn=x", "search ou=people".
    public var operation: String
    public var code: LDAPResultCode
    /// The server's diagnostic message, or libldap's local diagnostic (TLS errors land here).
    public var diagnosticMessage: String?
    /// For `noSuchObject`: the deepest part of the requested DN that does exist.
    public var matchedDN: String?
    /// For `referral`: the URLs the server pointed to (never chased).
    public var referrals: [String]

    public init(
        operation: String,
        code: LDAPResultCode,
        diagnosticMessage: String? = nil,
        matchedDN: String? = nil,
        referrals: [String] = [],
        isTLSFailure: Bool = false
    ) {
        self.isTLSFailure = isTLSFailure
        self.operation = operation
        self.code = code
        let trimmed = diagnosticMessage?.trimmingCharacters(in: .whitespacesAndNewlines)
        self.diagnosticMessage = (trimmed?.isEmpty ?? true) ? nil : trimmed
        self.matchedDN = (matchedDN?.isEmpty ?? true) ? nil : matchedDN
        self.referrals = referrals
    }

    /// True when the server was reached but its certificate was not accepted (untrusted
    /// issuer, expired, or a name other than the one in the URL).
    public var isTLSFailure: Bool

    public var description: String {
        var text: String
        if code.isConnectionFailure && operation.hasPrefix("connect to") {
            text = "cannot \(operation): \(code.text) (result code \(code.rawValue))"
        } else {
            text = "\(operation) failed: \(code.text) (result code \(code.rawValue))"
        }
        if let diagnosticMessage { text += "; diagnostic: \(diagnosticMessage)" }
        if let matchedDN { text += "; the deepest existing entry is \"\(matchedDN)\"" }
        if !referrals.isEmpty { text += "; referral to \(referrals.joined(separator: ", ")) (not followed)" }
        return text
    }
}
