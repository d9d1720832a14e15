import CLDAP

/// An LDAP result code (RFC 4511 §4.1.9) or one of libldap's negative API codes
/// (`LDAP_SERVER_DOWN`, `LDAP_TIMEOUT`, `LDAP_CONNECT_ERROR`, …).
public struct LDAPResultCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let success = Self(rawValue: LDAP_SUCCESS)
    public static let operationsError = Self(rawValue: LDAP_OPERATIONS_ERROR)
    public static let protocolError = Self(rawValue: LDAP_PROTOCOL_ERROR)
    public static let timeLimitExceeded = Self(rawValue: LDAP_TIMELIMIT_EXCEEDED)
    public static let sizeLimitExceeded = Self(rawValue: LDAP_SIZELIMIT_EXCEEDED)
    public static let authMethodNotSupported = Self(rawValue: LDAP_AUTH_METHOD_NOT_SUPPORTED)
    public static let strongerAuthRequired = Self(rawValue: LDAP_STRONG_AUTH_REQUIRED)
    public static let referral = Self(rawValue: LDAP_REFERRAL)
    public static let adminLimitExceeded = Self(rawValue: LDAP_ADMINLIMIT_EXCEEDED)
    public static let unavailableCriticalExtension = Self(rawValue: LDAP_UNAVAILABLE_CRITICAL_EXTENSION)
    public static let confidentialityRequired = Self(rawValue: LDAP_CONFIDENTIALITY_REQUIRED)
    public static let saslBindInProgress = Self(rawValue: LDAP_SASL_BIND_IN_PROGRESS)
    public static let noSuchAttribute = Self(rawValue: LDAP_NO_SUCH_ATTRIBUTE)
    public static let undefinedAttributeType = Self(rawValue: LDAP_UNDEFINED_TYPE)
    public static let invalidSyntax = Self(rawValue: LDAP_INVALID_SYNTAX)
    public static let noSuchObject = Self(rawValue: LDAP_NO_SUCH_OBJECT)
    public static let invalidDNSyntax = Self(rawValue: LDAP_INVALID_DN_SYNTAX)
    public static let inappropriateAuthentication = Self(rawValue: LDAP_INAPPROPRIATE_AUTH)
    public static let invalidCredentials = Self(rawValue: LDAP_INVALID_CREDENTIALS)
    public static let insufficientAccessRights = Self(rawValue: LDAP_INSUFFICIENT_ACCESS)
    public static let busy = Self(rawValue: LDAP_BUSY)
    public static let unavailable = Self(rawValue: LDAP_UNAVAILABLE)
    public static let unwillingToPerform = Self(rawValue: LDAP_UNWILLING_TO_PERFORM)
    public static let other = Self(rawValue: LDAP_OTHER)

    // libldap's client-side codes.
    public static let serverDown = Self(rawValue: LDAP_SERVER_DOWN)
    public static let localError = Self(rawValue: LDAP_LOCAL_ERROR)
    public static let encodingError = Self(rawValue: LDAP_ENCODING_ERROR)
    public static let decodingError = Self(rawValue: LDAP_DECODING_ERROR)
    public static let timeout = Self(rawValue: LDAP_TIMEOUT)
    public static let authUnknown = Self(rawValue: LDAP_AUTH_UNKNOWN)
    public static let filterError = Self(rawValue: LDAP_FILTER_ERROR)
    public static let paramError = Self(rawValue: LDAP_PARAM_ERROR)
    public static let noMemory = Self(rawValue: LDAP_NO_MEMORY)
    public static let connectError = Self(rawValue: LDAP_CONNECT_ERROR)
    public static let notSupported = Self(rawValue: LDAP_NOT_SUPPORTED)
    public static let controlNotFound = Self(rawValue: LDAP_CONTROL_NOT_FOUND)
    public static let noResultsReturned = Self(rawValue: LDAP_NO_RESULTS_RETURNED)
    public static let clientLoop = Self(rawValue: LDAP_CLIENT_LOOP)

    /// libldap's text for the code (`ldap_err2string`), e.g. "Invalid credentials".
    public var text: String { String(cString: ldap_err2string(rawValue)) }

    /// True for codes that mean the server could not be reached or the connection broke;
    /// a caller may retry the whole operation later.
    public var isConnectionFailure: Bool {
        self == .serverDown || self == .connectError || self == .timeout || self == .unavailable || self == .busy
    }

    public var description: String { "\(rawValue) (\(text))" }
}
