/// One hop of a membership path, from the user outward.
public struct PathStep: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case user, group, address, domain, everyone
        case profileGroup = "profile_group"
        case relayProfile = "relay_profile"
        case policy
    }

    public var kind: Kind
    public var name: String

    public init(_ kind: Kind, _ name: String) {
        self.kind = kind
        self.name = name
    }

    public var description: String { name }
}

public typealias MembershipPath = [PathStep]

extension UserGraph {
    /// Up to `limit` paths from the user to each group above them, shortest first. Each
    /// group keeps at most `limit` paths, which bounds the walk on densely nested
    /// directories; cycles are cut (a path never visits a group twice).
    public func paths(limit: Int = 5) -> [GroupKey: [[GroupKey]]] {
        var result: [GroupKey: [[GroupKey]]] = [:]
        result.reserveCapacity(groups.count)
        var queue: [[GroupKey]] = direct.sorted().map { [$0] }
        var head = 0
        func keep(_ path: [GroupKey], in paths: inout [[GroupKey]]) -> Bool {
            guard paths.count < limit else { return false }
            paths.append(path)
            return true
        }
        while head < queue.count {
            let path = queue[head]
            head += 1
            let last = path[path.count - 1]
            guard keep(path, in: &result[last, default: []]) else { continue }
            for parent in (parents[last] ?? []).sorted() where !path.contains(parent) {
                queue.append(path + [parent])
            }
        }
        return result
    }
}
