/// One search result entry: its DN and attributes, values kept as the bytes the server sent.
/// Decoding to text belongs to the mapping layer, which knows each attribute's syntax.
public struct LDAPEntry: Sendable, Hashable {
    public var dn: String
    /// Attributes in the order the server sent them.
    public var attributes: [LDAPAttribute]
    /// Controls sent with the entry (e.g. RFC 4533's Sync State); only read for searches
    /// sent with controls.
    public var controls: [LDAPControlValue] = []

    public init(dn: String, attributes: [LDAPAttribute], controls: [LDAPControlValue] = []) {
        self.dn = dn
        self.attributes = attributes
        self.controls = controls
    }

    /// The values of an attribute, matched case-insensitively on the name and ignoring
    /// options such as `;binary` only when asked for exactly. Empty when absent.
    public subscript(_ name: String) -> [[UInt8]] {
        attribute(name)?.values ?? []
    }

    /// The attribute, matched as the subscript matches; its values can be read in place
    /// (``LDAPAttribute/value(at:)``) without an array per value.
    public func attribute(_ name: String) -> LDAPAttribute? {
        attributes.first { $0.name.caseInsensitiveEquals(name) }
    }

    /// The first value of an attribute decoded as UTF-8, or nil when absent.
    public func string(_ name: String) -> String? {
        guard let attribute = attribute(name), attribute.count > 0 else { return nil }
        return String(decoding: attribute.value(at: 0), as: UTF8.self)
    }

    /// All values of an attribute decoded as UTF-8.
    public func strings(_ name: String) -> [String] {
        guard let attribute = attribute(name) else { return [] }
        return (0..<attribute.count).map { String(decoding: attribute.value(at: $0), as: UTF8.self) }
    }
}

/// One attribute of an entry: its name as the server spelled it, and its values as bytes.
///
/// The values sit end to end in one buffer: a group's member attribute holds thousands of
/// values, and an array each made a full read allocate (and free) a million of them.
public struct LDAPAttribute: Sendable, Hashable {
    public var name: String
    /// Every value's bytes, in order; value `i` ends at `ends[i]` and starts where value
    /// `i - 1` ends.
    private var bytes: [UInt8]
    private var ends: [Int32]

    public init(name: String, values: [[UInt8]]) {
        self.name = name
        bytes = []
        ends = []
        self.values = values
    }

    public init(name: String, strings: [String]) {
        self.init(name: name, values: strings.map { Array($0.utf8) })
    }

    /// An attribute from values already laid end to end (the search parser's form).
    init(name: String, bytes: [UInt8], ends: [Int32]) {
        self.name = name
        self.bytes = bytes
        self.ends = ends
    }

    /// The number of values.
    public var count: Int { ends.count }

    /// Value `index`, in place.
    public func value(at index: Int) -> ArraySlice<UInt8> {
        bytes[(index == 0 ? 0 : Int(ends[index - 1]))..<Int(ends[index])]
    }

    /// The values as arrays of their own (one allocation each: prefer ``value(at:)`` for
    /// attributes with many values).
    public var values: [[UInt8]] {
        get { (0..<count).map { Array(value(at: $0)) } }
        set {
            bytes = []
            bytes.reserveCapacity(newValue.reduce(0) { $0 + $1.count })
            ends = []
            ends.reserveCapacity(newValue.count)
            for value in newValue {
                bytes.append(contentsOf: value)
                ends.append(Int32(bytes.count))
            }
        }
    }
}

extension String {
    /// ASCII case-insensitive equality, which is what attribute type names need (RFC 4512 §2.5).
    func caseInsensitiveEquals(_ other: String) -> Bool {
        guard utf8.count == other.utf8.count else { return false }
        var lhs = self, rhs = other
        return lhs.withUTF8 { left in
            rhs.withUTF8 { right in
                for index in 0..<left.count where asciiLower(left[index]) != asciiLower(right[index]) { return false }
                return true
            }
        }
    }
}

@inline(__always)
func asciiLower(_ byte: UInt8) -> UInt8 {
    (byte >= 0x41 && byte <= 0x5A) ? byte | 0x20 : byte
}
