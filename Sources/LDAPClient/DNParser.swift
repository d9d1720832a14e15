/// A byte-level parser for DN strings. It is on the sync's hot path (every `member`
/// value is parsed), so it works on UTF-8 bytes and allocates little.
struct DNParser {
    private let input: String
    private let bytes: [UInt8]
    private var index = 0

    init(_ input: String) {
        self.input = input
        self.bytes = Array(input.utf8)
    }

    mutating func parse() throws(DNParseError) -> [RelativeDistinguishedName] {
        skipSpaces()
        if index == bytes.count { return [] }
        var rdns: [RelativeDistinguishedName] = []
        while true {
            var attributes: [AttributeTypeAndValue] = []
            while true {
                attributes.append(try parseAttribute())
                guard index < bytes.count, bytes[index] == UInt8(ascii: "+") else { break }
                index += 1
            }
            rdns.append(RelativeDistinguishedName(attributes))
            if index == bytes.count { return rdns }
            let separator = bytes[index]
            guard separator == UInt8(ascii: ",") || separator == UInt8(ascii: ";") else {
                throw error("expected \",\" or \"+\" after a value")
            }
            index += 1
            skipSpaces()
            if index == bytes.count { throw error("the DN ends with a separator") }
        }
    }

    private mutating func parseAttribute() throws(DNParseError) -> AttributeTypeAndValue {
        skipSpaces()
        let typeStart = index
        while index < bytes.count, isTypeByte(bytes[index]) { index += 1 }
        guard index > typeStart else { throw error("expected an attribute type") }
        let type = String(decoding: bytes[typeStart..<index], as: UTF8.self)
        skipSpaces()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "=") else {
            throw error("expected \"=\" after attribute type \"\(type)\"")
        }
        index += 1
        skipSpaces()
        if index < bytes.count, bytes[index] == UInt8(ascii: "#") {
            return AttributeTypeAndValue(type: type, binaryValue: try parseHexValue())
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
            return AttributeTypeAndValue(type: type, value: try parseQuotedValue())
        }
        return AttributeTypeAndValue(type: type, value: try parseStringValue())
    }

    private mutating func parseStringValue() throws(DNParseError) -> String {
        var value: [UInt8] = []
        // Length of `value` up to the last escaped or non-space byte: unescaped trailing
        // spaces before a separator are not part of the value.
        var significantLength = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: ","), UInt8(ascii: "+"), UInt8(ascii: ";"):
                value.removeSubrange(significantLength...)
                return try decode(value)
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { throw error("the DN ends inside an escape") }
                if let high = hexValue(bytes[index]), index + 1 < bytes.count, let low = hexValue(bytes[index + 1]) {
                    value.append(high << 4 | low)
                    index += 2
                } else if isEscapable(bytes[index]) {
                    value.append(bytes[index])
                    index += 1
                } else {
                    throw error("\"\\\(String(UnicodeScalar(bytes[index])))\" is not a valid escape")
                }
                significantLength = value.count
            case 0:
                throw error("unescaped NUL byte")
            default:
                value.append(byte)
                index += 1
                if byte != UInt8(ascii: " ") { significantLength = value.count }
            }
        }
        value.removeSubrange(significantLength...)
        return try decode(value)
    }

    private mutating func parseQuotedValue() throws(DNParseError) -> String {
        index += 1
        var value: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if byte == UInt8(ascii: "\"") {
                skipSpaces()
                return try decode(value)
            }
            if byte == UInt8(ascii: "\\"), index < bytes.count {
                value.append(bytes[index])
                index += 1
            } else {
                value.append(byte)
            }
        }
        throw error("unterminated quoted value")
    }

    private mutating func parseHexValue() throws(DNParseError) -> [UInt8] {
        index += 1
        var value: [UInt8] = []
        while index + 1 < bytes.count, let high = hexValue(bytes[index]), let low = hexValue(bytes[index + 1]) {
            value.append(high << 4 | low)
            index += 2
        }
        skipSpaces()
        guard !value.isEmpty, index == bytes.count || [UInt8(ascii: ","), UInt8(ascii: "+"), UInt8(ascii: ";")].contains(bytes[index]) else {
            throw error("a value starting with \"#\" must be an even number of hex digits")
        }
        return value
    }

    private func decode(_ value: [UInt8]) throws(DNParseError) -> String {
        guard let string = String(validating: value, as: UTF8.self) else {
            throw error("the value is not valid UTF-8")
        }
        return string
    }

    private mutating func skipSpaces() {
        while index < bytes.count, bytes[index] == UInt8(ascii: " ") { index += 1 }
    }

    private func error(_ reason: String) -> DNParseError {
        DNParseError(input: input, offset: index, reason: reason)
    }
}

private func isTypeByte(_ byte: UInt8) -> Bool {
    (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
        || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
}

private func isEscapable(_ byte: UInt8) -> Bool {
    "\"+,;<>\\ #=".utf8.contains(byte)
}

private func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case 0x30...0x39: byte - 0x30
    case 0x41...0x46: byte - 0x41 + 10
    case 0x61...0x66: byte - 0x61 + 10
    default: nil
    }
}
