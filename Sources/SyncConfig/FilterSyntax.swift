/// A light RFC 4515 syntax check for filters written in the configuration, so a typo is a
/// config error at load time and not a failed run at 3 a.m.
public enum FilterSyntax {
    /// Deeper nesting than any real filter; it bounds the recursion (a filter nested a
    /// million deep in a configuration file would otherwise overflow the stack).
    public static let maximumDepth = 64

    /// A description of the first problem, or nil when the filter is well-formed.
    public static func problem(in filter: String) -> String? {
        let bytes = Array(filter.utf8)
        var index = 0
        if let problem = parseFilter(bytes, &index, depth: 1) { return problem }
        return index == bytes.count ? nil : "unexpected text after the filter at offset \(index)"
    }

    private static func parseFilter(_ bytes: [UInt8], _ index: inout Int, depth: Int) -> String? {
        guard depth <= maximumDepth else { return "filters nested more than \(maximumDepth) deep, at offset \(index)" }
        guard index < bytes.count, bytes[index] == UInt8(ascii: "(") else { return "expected \"(\" at offset \(index)" }
        index += 1
        guard index < bytes.count else { return "the filter ends after \"(\"" }
        switch bytes[index] {
        case UInt8(ascii: "&"), UInt8(ascii: "|"):
            index += 1
            var count = 0
            while index < bytes.count, bytes[index] == UInt8(ascii: "(") {
                if let problem = parseFilter(bytes, &index, depth: depth + 1) { return problem }
                count += 1
            }
            if count == 0 { return "\"&\" or \"|\" needs at least one filter, at offset \(index)" }
        case UInt8(ascii: "!"):
            index += 1
            if let problem = parseFilter(bytes, &index, depth: depth + 1) { return problem }
        default:
            let start = index
            var sawEquals = false
            while index < bytes.count, bytes[index] != UInt8(ascii: ")") {
                let byte = bytes[index]
                if byte == UInt8(ascii: "(") { return "unescaped \"(\" at offset \(index) (write \\28)" }
                if byte == UInt8(ascii: "=") { sawEquals = true }
                if byte == UInt8(ascii: "\\") {
                    guard index + 2 < bytes.count, isHex(bytes[index + 1]), isHex(bytes[index + 2]) else {
                        return "\"\\\" must be followed by two hex digits, at offset \(index)"
                    }
                    index += 2
                }
                index += 1
            }
            if !sawEquals { return "\"\(String(decoding: bytes[start..<index], as: UTF8.self))\" is not an attribute=value assertion" }
            if bytes[start] == UInt8(ascii: "=") { return "an assertion needs an attribute name before \"=\", at offset \(start)" }
        }
        guard index < bytes.count, bytes[index] == UInt8(ascii: ")") else { return "missing \")\" at offset \(index)" }
        index += 1
        return nil
    }

    private static func isHex(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x46).contains(byte) || (0x61...0x66).contains(byte)
    }
}
