import Foundation

/// What to search for.
public struct LDAPSearchRequest: Sendable, Hashable {
    public enum Scope: String, Sendable, Hashable, CaseIterable {
        case base, one, sub
    }

    public var base: String
    public var scope: Scope
    /// An RFC 4515 filter string. Build it with ``LDAPFilter`` when any part comes from input.
    public var filter: String
    /// The attributes to return; empty means all user attributes. Add "+" for operational ones.
    public var attributes: [String]
    /// RFC 2696 page size; nil sends one unpaged search (only sensible for small results).
    public var pageSize: Int?
    /// Client-requested size limit (0 = none; the server's own limits still apply).
    public var sizeLimit: Int
    /// Server controls sent with the search (besides the paging control). A search with
    /// controls reports the controls that come back: on entries, as intermediate responses
    /// and, last, as ``LDAPSearchEvent/done(_:)``.
    public var controls: [LDAPControlValue] = []
    /// A search that stays open (RFC 4533 refreshAndPersist): while the server sends
    /// nothing the sequence waits — without the operation timeout, checking for
    /// cancellation every second — and ends only when the server ends it.
    public var persistent = false

    public init(
        base: String,
        scope: Scope = .sub,
        filter: String = "(objectClass=*)",
        attributes: [String] = [],
        pageSize: Int? = 1000,
        sizeLimit: Int = 0
    ) {
        self.base = base
        self.scope = scope
        self.filter = filter
        self.attributes = attributes
        self.pageSize = pageSize
        self.sizeLimit = sizeLimit
    }

    /// The equivalent `ldapsearch` command line, for debug logs. Never contains a password.
    public func ldapsearchCommand(url: String, bindDN: String?) -> String {
        var parts = ["ldapsearch", "-H", shellQuote(url), "-LLL"]
        if let bindDN, !bindDN.isEmpty {
            parts += ["-x", "-D", shellQuote(bindDN), "-W"]
        } else {
            parts += ["-x"]
        }
        parts += ["-b", shellQuote(base), "-s", scope.rawValue]
        if let pageSize { parts += ["-E", "pr=\(pageSize)/noprompt"] }
        if sizeLimit > 0 { parts += ["-z", String(sizeLimit)] }
        parts.append(shellQuote(filter))
        parts += attributes.map(shellQuote)
        return parts.joined(separator: " ")
    }
}

private func shellQuote(_ text: String) -> String {
    let safe = text.unicodeScalars.allSatisfy {
        ($0.properties.isAlphabetic && $0.isASCII) || ("0123456789-_.,=:/@+%".unicodeScalars.contains($0))
    }
    if safe && !text.isEmpty { return text }
    return "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

/// One thing a search produced.
public enum LDAPSearchEvent: Sendable, Hashable {
    case entry(LDAPEntry)
    /// A search continuation reference (RFC 4511 §4.5.3): the part of the tree lives on
    /// another server. It is reported, never followed and never treated as an entry.
    case reference([String])
    /// An intermediate response; only reported for searches sent with controls.
    case intermediate(LDAPIntermediate)
    /// The controls of the final result; only reported for searches sent with controls.
    case done([LDAPControlValue])
}

/// What a completed search gathered, for searches small enough to hold in memory.
public struct LDAPSearchResult: Sendable {
    public var entries: [LDAPEntry]
    public var references: [[String]]
    public var intermediates: [LDAPIntermediate] = []
    /// The controls of the final result (searches sent with controls).
    public var controls: [LDAPControlValue] = []

    public init(entries: [LDAPEntry] = [], references: [[String]] = []) {
        self.entries = entries
        self.references = references
    }
}
