/// What a server says about itself in its root DSE (RFC 4512 §5.1), and which kind of
/// directory it is.
public struct RootDSE: Sendable, Equatable {
    public var namingContexts: [String]
    public var defaultNamingContext: String?
    public var supportedControls: Set<String>
    public var supportedExtensions: Set<String>
    public var supportedSASLMechanisms: [String]
    public var supportedLDAPVersions: [String]
    /// Active Directory's capability OIDs (`supportedCapabilities`).
    public var supportedCapabilities: Set<String>
    public var vendorName: String?
    public var vendorVersion: String?
    public var objectClasses: [String]
    /// AD's DNS host name of the DC answering.
    public var dnsHostName: String?
    /// AD: the DC's NTDS settings object (which DC answers) and its highest update
    /// sequence number; USNs count per DC.
    public var dsServiceName: String?
    public var highestCommittedUSN: Int64?

    public init(entry: LDAPEntry) {
        namingContexts = entry.strings("namingContexts")
        defaultNamingContext = entry.string("defaultNamingContext")
        supportedControls = Set(entry.strings("supportedControl"))
        supportedExtensions = Set(entry.strings("supportedExtension"))
        supportedSASLMechanisms = entry.strings("supportedSASLMechanisms")
        supportedLDAPVersions = entry.strings("supportedLDAPVersion")
        supportedCapabilities = Set(entry.strings("supportedCapabilities"))
        vendorName = entry.string("vendorName")
        vendorVersion = entry.string("vendorVersion")
        objectClasses = entry.strings("objectClass") + entry.strings("structuralObjectClass")
        dnsHostName = entry.string("dnsHostName")
        dsServiceName = entry.string("dsServiceName")
        highestCommittedUSN = entry.string("highestCommittedUSN").flatMap { Int64($0) }
    }

    /// The attributes to ask for: root DSE attributes are operational, so "+" is needed on
    /// OpenLDAP, while AD answers only for the names it is asked.
    public static let requestedAttributes = [
        "+", "*", "namingContexts", "defaultNamingContext", "supportedControl", "supportedExtension",
        "supportedSASLMechanisms", "supportedLDAPVersion", "supportedCapabilities", "vendorName",
        "vendorVersion", "objectClass", "structuralObjectClass", "dnsHostName", "dsServiceName", "highestCommittedUSN",
    ]

    public static let pagedResultsControl = "1.2.840.113556.1.4.319"
    public static let contentSynchronizationControl = "1.3.6.1.4.1.4203.1.9.1.1"
    public static let startTLSExtension = "1.3.6.1.4.1.1466.20037"
    public static let activeDirectoryCapability = "1.2.840.113556.1.4.800"
    public static let activeDirectoryLDSCapability = "1.2.840.113556.1.4.1851"

    public var supportsPagedResults: Bool { supportedControls.contains(Self.pagedResultsControl) }
    public var supportsContentSynchronization: Bool { supportedControls.contains(Self.contentSynchronizationControl) }
    public var supportsStartTLS: Bool { supportedExtensions.contains(Self.startTLSExtension) }

    /// The kind of directory, from evidence in the root DSE.
    public var flavour: DirectoryFlavour {
        if supportedCapabilities.contains(Self.activeDirectoryCapability)
            || supportedCapabilities.contains(Self.activeDirectoryLDSCapability)
        {
            return .activeDirectory
        }
        if objectClasses.contains(where: { $0.caseInsensitiveEquals("OpenLDAProotDSE") }) {
            return .openLDAP
        }
        if let vendorName, vendorName.lowercased().contains("openldap") { return .openLDAP }
        return .other(vendor: vendorName)
    }
}

/// Which kind of directory a server is; it decides attribute defaults and semantics.
public enum DirectoryFlavour: Sendable, Hashable, CustomStringConvertible {
    case openLDAP
    case activeDirectory
    case other(vendor: String?)

    public var description: String {
        switch self {
        case .openLDAP: "openldap"
        case .activeDirectory: "activedirectory"
        case .other(let vendor): vendor.map { "other (\($0))" } ?? "other"
        }
    }
}

extension LDAPSession {
    /// Reads the root DSE. Throws when the server does not return it.
    public func rootDSE() throws -> RootDSE {
        let result = try searchAll(LDAPSearchRequest(
            base: "", scope: .base, filter: "(objectClass=*)",
            attributes: RootDSE.requestedAttributes, pageSize: nil))
        guard let entry = result.entries.first else {
            throw LDAPError(
                operation: "read the root DSE of \(options.url)", code: .noResultsReturned,
                diagnosticMessage: "the server returned no root DSE entry (access to it may be denied)")
        }
        return RootDSE(entry: entry)
    }
}
