/// A small JSON writer for the answers the API serves most (`/v1/verify`): Foundation's
/// JSONEncoder costs as much as the whole query under load. Produces the same document as
/// the Codable encoding (a test compares them), without spaces.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    private var needsComma: [Bool] = []

    public init() { bytes.reserveCapacity(1024) }

    mutating func separator() {
        if let last = needsComma.last {
            if last { bytes.append(UInt8(ascii: ",")) }
            needsComma[needsComma.count - 1] = true
        }
    }

    /// Keys are literals in this program, plain ASCII with nothing to escape: copied as is.
    mutating func key(_ key: StaticString) {
        separator()
        bytes.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        if !needsComma.isEmpty { needsComma[needsComma.count - 1] = true }
    }

    public mutating func object(_ key: StaticString? = nil, _ body: (inout JSONWriter) -> Void) {
        if let key { self.key(key) } else { separator() }
        bytes.append(UInt8(ascii: "{"))
        needsComma.append(false)
        body(&self)
        needsComma.removeLast()
        bytes.append(UInt8(ascii: "}"))
    }

    public mutating func array(_ key: StaticString? = nil, _ body: (inout JSONWriter) -> Void) {
        if let key { self.key(key) } else { separator() }
        bytes.append(UInt8(ascii: "["))
        needsComma.append(false)
        body(&self)
        needsComma.removeLast()
        bytes.append(UInt8(ascii: "]"))
    }

    public mutating func field(_ key: StaticString, _ value: String?) {
        self.key(key)
        if let value { string(value, separated: false) } else { bytes.append(contentsOf: "null".utf8) }
    }

    public mutating func field(_ key: StaticString, _ value: Bool) {
        self.key(key)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    public mutating func field(_ key: StaticString, _ value: Int64?) {
        self.key(key)
        bytes.append(contentsOf: (value.map(String.init) ?? "null").utf8)
    }

    /// A key whose value is left out when nil (as Codable's `encodeIfPresent`).
    public mutating func optional(_ key: StaticString, _ value: String?) { if let value { field(key, value) } }
    public mutating func optional(_ key: StaticString, _ value: Int64?) { if let value { field(key, value) } }

    public mutating func null(_ key: StaticString) {
        self.key(key)
        bytes.append(contentsOf: "null".utf8)
    }

    public mutating func element(_ value: String) {
        separator()
        string(value, separated: false)
    }

    mutating func string(_ value: String, separated: Bool) {
        bytes.append(UInt8(ascii: "\""))
        // Most strings need no escape: copied whole.
        let copied = value.utf8.withContiguousStorageIfAvailable { utf8 -> Bool in
            guard !utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else { return false }
            bytes.append(contentsOf: utf8)
            return true
        }
        if copied == true {
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

extension VerifyAnswer {
    /// This answer as JSON, the same document as its Codable encoding.
    public func jsonBytes() -> [UInt8] {
        var writer = JSONWriter()
        writer.object { json in
            json.field("query", query)
            if let user {
                json.object("user") { json in
                    json.field("directory", user.directory)
                    json.field("id", user.id)
                    json.field("dn", user.dn)
                    json.optional("username", user.username)
                    json.optional("mail", user.mail)
                    json.optional("display_name", user.displayName)
                    json.field("disabled", user.disabled)
                }
            } else {
                json.null("user")
            }
            if let snapshot {
                json.object("snapshot") { json in
                    json.field("directory", snapshot.directory)
                    json.optional("run_id", snapshot.runID)
                    json.optional("finished_at", snapshot.finishedAt)
                    json.optional("age_seconds", snapshot.ageSeconds.map(Int64.init))
                    json.field("stale", snapshot.stale)
                    json.optional("stale_reason", snapshot.staleReason)
                    json.optional("config_digest", snapshot.configDigest)
                    json.field("config_changed", snapshot.configChanged)
                }
            } else {
                json.null("snapshot")
            }
            json.array("results") { json in
                for result in results {
                    json.object { json in
                        json.object("target") { json in
                            json.field("kind", result.target.kind)
                            json.field("name", result.target.name)
                        }
                        json.field("landed", result.landed)
                        json.array("paths") { json in
                            for path in result.paths { json.array { json in for name in path { json.element(name) } } }
                        }
                        json.field("reason", result.reason)
                        json.field("reason_code", result.reasonCode)
                        if let suggestions = result.suggestions {
                            json.array("suggestions") { json in for name in suggestions { json.element(name) } }
                        }
                        if let live = result.live {
                            json.object("live") { json in
                                json.field("landed", live.landed)
                                json.field("message", live.message)
                            }
                        }
                    }
                }
            }
        }
        return writer.bytes
    }
}
