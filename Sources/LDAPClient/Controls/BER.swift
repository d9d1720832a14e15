/// The small part of BER (X.690) that LDAP control values use: definite lengths, primitive
/// INTEGER / BOOLEAN / ENUMERATED / OCTET STRING, and constructed SEQUENCE / SET / context
/// tags. Control values are built and read here instead of through libldap's variadic
/// `ber_printf`/`ber_scanf`, which Swift cannot call.
public enum BER {
    public static let boolean: UInt8 = 0x01
    public static let integer: UInt8 = 0x02
    public static let octetString: UInt8 = 0x04
    public static let enumerated: UInt8 = 0x0A
    public static let sequence: UInt8 = 0x30
    public static let set: UInt8 = 0x31

    /// One encoded element: tag, length, contents.
    public static func element(_ tag: UInt8, _ contents: [UInt8]) -> [UInt8] {
        [tag] + length(contents.count) + contents
    }

    public static func sequence(_ elements: [[UInt8]], tag: UInt8 = sequence) -> [UInt8] {
        element(tag, elements.flatMap { $0 })
    }

    public static func integer(_ value: Int64, tag: UInt8 = integer) -> [UInt8] {
        // Two's complement, shortest form.
        var bytes: [UInt8] = []
        var rest = value
        repeat {
            bytes.insert(UInt8(truncatingIfNeeded: rest), at: 0)
            rest >>= 8
        } while !(rest == 0 && bytes[0] & 0x80 == 0) && !(rest == -1 && bytes[0] & 0x80 != 0)
        return element(tag, bytes)
    }

    public static func octetString(_ bytes: [UInt8], tag: UInt8 = octetString) -> [UInt8] {
        element(tag, bytes)
    }

    public static func boolean(_ value: Bool) -> [UInt8] {
        element(boolean, [value ? 0xFF : 0x00])
    }

    private static func length(_ count: Int) -> [UInt8] {
        if count < 0x80 { return [UInt8(count)] }
        var bytes: [UInt8] = []
        var rest = count
        while rest > 0 {
            bytes.insert(UInt8(rest & 0xFF), at: 0)
            rest >>= 8
        }
        return [0x80 | UInt8(bytes.count)] + bytes
    }
}

/// Reads BER elements one after another from a buffer.
public struct BERReader: Sendable {
    public struct Element: Sendable {
        public var tag: UInt8
        public var contents: ArraySlice<UInt8>

        /// The elements inside a constructed element.
        public var reader: BERReader { BERReader(contents) }

        public func integer() throws(BERError) -> Int64 {
            guard !contents.isEmpty, contents.count <= 8 else { throw BERError("an integer of \(contents.count) bytes") }
            var value: Int64 = contents.first! & 0x80 != 0 ? -1 : 0
            for byte in contents { value = value << 8 | Int64(byte) }
            return value
        }

        public func boolean() throws(BERError) -> Bool {
            guard contents.count == 1 else { throw BERError("a boolean of \(contents.count) bytes") }
            return contents.first! != 0
        }

        public var bytes: [UInt8] { Array(contents) }
    }

    private let buffer: ArraySlice<UInt8>
    private var position: Int

    public init<Bytes: Collection<UInt8>>(_ bytes: Bytes) {
        buffer = ArraySlice(bytes)
        position = buffer.startIndex
    }

    public var isAtEnd: Bool { position >= buffer.endIndex }

    /// The tag of the next element, without reading it.
    public var nextTag: UInt8? { isAtEnd ? nil : buffer[position] }

    public mutating func next() throws(BERError) -> Element {
        guard position < buffer.endIndex else { throw BERError("the value ended where an element was expected") }
        let tag = buffer[position]
        guard tag & 0x1F != 0x1F else { throw BERError("a multi-byte tag") }
        position += 1
        guard position < buffer.endIndex else { throw BERError("the value ended inside a length") }
        let first = buffer[position]
        position += 1
        var length = 0
        if first & 0x80 == 0 {
            length = Int(first)
        } else {
            let count = Int(first & 0x7F)
            guard count > 0, count <= 4, position + count <= buffer.endIndex else { throw BERError("a length of \(count) bytes") }
            for byte in buffer[position..<position + count] { length = length << 8 | Int(byte) }
            position += count
        }
        guard position + length <= buffer.endIndex else { throw BERError("an element longer (\(length) bytes) than the value") }
        let contents = buffer[position..<position + length]
        position += length
        return Element(tag: tag, contents: contents)
    }

    /// Reads the next element and checks its tag.
    public mutating func next(_ tag: UInt8) throws(BERError) -> Element {
        let element = try next()
        guard element.tag == tag else {
            throw BERError("tag 0x\(String(element.tag, radix: 16)) where 0x\(String(tag, radix: 16)) was expected")
        }
        return element
    }

    /// Reads the next element when it has `tag`.
    public mutating func optional(_ tag: UInt8) throws(BERError) -> Element? {
        nextTag == tag ? try next() : nil
    }
}

public struct BERError: Error, Sendable, CustomStringConvertible {
    public var reason: String

    public init(_ reason: String) { self.reason = reason }

    public var description: String { "malformed BER value: \(reason)" }
}
