import Foundation
import Yams

/// A YAML node with its key path and line, and typed accessors whose errors say where.
/// Mappings are read with ``fields(_:)``, which rejects keys it does not know.
struct ConfigNode {
    let node: Node
    let path: String
    let file: String

    var line: Int? { node.mark?.line }

    func error(_ message: String) -> ConfigError {
        ConfigError(file: file, line: line, keyPath: path, message: message)
    }

    private func child(_ node: Node, _ key: String) -> ConfigNode {
        ConfigNode(node: node, path: path.isEmpty ? key : "\(path).\(key)", file: file)
    }

    /// Far more values than any configuration has.
    static let maximumNodes = 100_000

    /// Refuses anchors and aliases (an alias repeats a subtree; nested ones multiply it, the
    /// "billion laughs") and documents of more than ``maximumNodes`` values, before anything
    /// reads the tree. Yams shares an aliased subtree rather than copying it, so stopping at
    /// the first anchor never expands one.
    static func checkShape(_ root: Node, file: String) throws(ConfigError) {
        var count = 0
        var pending = [root]
        while let node = pending.popLast() {
            count += 1
            if node.anchor != nil || { if case .alias = node { return true } else { return false } }() {
                throw ConfigError(
                    file: file, line: node.mark?.line, keyPath: "",
                    message: "YAML aliases are not supported in the configuration (found an anchor or alias); write each value out")
            }
            guard count <= maximumNodes else {
                throw ConfigError(file: file, line: node.mark?.line, keyPath: "", message: "more than \(maximumNodes) values; this is not a configuration")
            }
            switch node {
            case .mapping(let mapping):
                for (key, value) in mapping {
                    pending.append(key)
                    pending.append(value)
                }
            case .sequence(let sequence): pending.append(contentsOf: sequence)
            case .scalar, .alias: break
            }
        }
    }

    /// The mapping's entries by key, after checking that every key is one of `allowed`.
    func fields(_ allowed: Set<String>) throws(ConfigError) -> Fields {
        guard case .mapping(let mapping) = node else { throw error("expected a mapping of keys to values, found \(kind)") }
        var values: [String: ConfigNode] = [:]
        for (key, value) in mapping {
            guard let name = key.string else { throw error("keys must be strings") }
            let field = child(value, name)
            guard allowed.contains(name) else {
                throw ConfigError(
                    file: file, line: key.mark?.line, keyPath: field.path,
                    message: "unknown key \"\(name)\"; expected one of: \(allowed.sorted().joined(separator: ", "))")
            }
            guard values[name] == nil else {
                throw ConfigError(file: file, line: key.mark?.line, keyPath: field.path, message: "the key appears twice")
            }
            if case .alias = value { throw field.error("YAML aliases are not supported in the configuration") }
            values[name] = field
        }
        return Fields(parent: self, values: values)
    }

    func items() throws(ConfigError) -> [ConfigNode] {
        guard case .sequence(let sequence) = node else { throw error("expected a list, found \(kind)") }
        return sequence.enumerated().map { index, item in ConfigNode(node: item, path: "\(path)[\(index)]", file: file) }
    }

    func string() throws(ConfigError) -> String {
        guard case .scalar(let scalar) = node else { throw error("expected a string, found \(kind)") }
        return scalar.string
    }

    func nonEmptyString() throws(ConfigError) -> String {
        let value = try string().trimmingCharacters(in: .whitespaces)
        guard !value.isEmpty else { throw error("must not be empty") }
        return value
    }

    func strings() throws(ConfigError) -> [String] {
        if case .scalar = node { return [try nonEmptyString()] }
        var result: [String] = []
        for item in try items() { result.append(try item.nonEmptyString()) }
        return result
    }

    func bool() throws(ConfigError) -> Bool {
        guard case .scalar = node, let value = node.bool else { throw error("expected true or false, found \(describe)") }
        return value
    }

    func int(in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard case .scalar = node, let value = node.int else { throw error("expected a whole number, found \(describe)") }
        guard range.contains(value) else { throw error("must be between \(range.lowerBound) and \(range.upperBound), found \(value)") }
        return value
    }

    /// `30s`, `5m`, `2h`, `1h30m`, `500ms`, `1d`.
    func duration() throws(ConfigError) -> Duration {
        let text = try string().trimmingCharacters(in: .whitespaces)
        guard let duration = parseDuration(text) else {
            throw error("expected a duration such as 30s, 5m, 2h or 1h30m (at most 3650d), found \"\(text.prefix(100))\"")
        }
        return duration
    }

    private var kind: String {
        switch node {
        case .scalar: "a single value"
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    private var describe: String {
        if case .scalar(let scalar) = node { return "\"\(scalar.string)\"" }
        return kind
    }

    struct Fields {
        let parent: ConfigNode
        let values: [String: ConfigNode]

        subscript(_ key: String) -> ConfigNode? { values[key] }

        func require(_ key: String) throws(ConfigError) -> ConfigNode {
            guard let value = values[key] else { throw parent.error("the key \"\(key)\" is required") }
            return value
        }
    }
}

/// Ten years: more than any timeout, interval or `full_every` needs.
let maximumDurationMilliseconds = 3650 * 86_400_000

func parseDuration(_ text: String) -> Duration? {
    var total = Duration.zero
    var number = ""
    var unit = ""
    var parsedAny = false
    func flush() -> Bool {
        guard let value = Int(number), !unit.isEmpty else { return false }
        let milliseconds: Int
        switch unit {
        case "ms": milliseconds = 1
        case "s": milliseconds = 1000
        case "m": milliseconds = 60_000
        case "h": milliseconds = 3_600_000
        case "d": milliseconds = 86_400_000
        default: return false
        }
        // Past the longest duration any key takes, and far from overflowing.
        let (product, overflow) = value.multipliedReportingOverflow(by: milliseconds)
        guard !overflow, product <= maximumDurationMilliseconds - Int(total / .milliseconds(1)) else { return false }
        total += .milliseconds(product)
        number = ""
        unit = ""
        parsedAny = true
        return true
    }
    for character in text {
        if character.isASCII && character.isNumber {
            if !unit.isEmpty { guard flush() else { return nil } }
            number.append(character)
        } else if character.isLetter {
            guard !number.isEmpty else { return nil }
            unit.append(character)
        } else {
            return nil
        }
    }
    guard flush(), parsedAny, total > .zero else { return nil }
    return total
}
