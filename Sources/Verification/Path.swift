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
        walk(limit: limit, following: nil)
    }

    /// The same paths as ``paths(limit:)``, for `targets` only (groups the user is not under
    /// have none). The walk follows only groups from which a target can be reached: a path
    /// through any other group never ends at a target, so leaving those paths out changes
    /// neither the order nor the choice of the paths that do.
    public func paths(limit: Int = 5, to targets: some Sequence<GroupKey>) -> [GroupKey: [[GroupKey]]] {
        var wanted = Set<GroupKey>()
        for target in targets where groups[target] != nil { wanted.insert(target) }
        guard !wanted.isEmpty else { return [:] }
        if parents.isEmpty { return walk(limit: limit, following: wanted) }
        var children: [GroupKey: [GroupKey]] = [:]
        for (child, above) in parents {
            for parent in above { children[parent, default: []].append(child) }
        }
        var useful = wanted
        var stack = Array(wanted)
        while let group = stack.popLast() {
            for child in children[group] ?? [] where useful.insert(child).inserted { stack.append(child) }
        }
        return walk(limit: limit, following: useful).filter { wanted.contains($0.key) }
    }

    /// The breadth-first walk of ``paths(limit:)``, through `following` only when given.
    private func walk(limit: Int, following: Set<GroupKey>?) -> [GroupKey: [[GroupKey]]] {
        var result: [GroupKey: [[GroupKey]]] = [:]
        result.reserveCapacity(following?.count ?? groups.count)
        if parents.isEmpty {
            // No nesting above the user (most users): each direct group's one path is itself,
            // which is what the walk below finds, without sorting or queueing.
            for group in direct where following?.contains(group) ?? true {
                if result[group, default: []].count < limit { result[group, default: []].append([group]) }
            }
            return result
        }
        var queue: [[GroupKey]] = direct.sorted().filter { following?.contains($0) ?? true }.map { [$0] }
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
                if let following, !following.contains(parent) { continue }
                queue.append(path + [parent])
            }
        }
        return result
    }
}
