import LDAPTestSupport
import SyncCore
import Testing

@Suite("Effective-membership change worked out user by user")
struct EffectiveDeltaTests {
    @Test("a user removed from a nested group but still in its parent directly loses only the nested group")
    func keepsOtherPaths() {
        let parents = ["eng": Set(["all"]), "ops": ["all"]]
        let direct = ["u1": Set(["eng", "all"]), "u2": ["eng"], "u3": ["ops"]]
        let delta = EffectiveDelta.of(
            added: ["u2": ["ops"], "u3": ["eng"]], removed: ["u1": ["eng"], "u2": ["eng"]], directGroups: direct, parents: parents)
        #expect(delta.lost == [EffectiveChange(userID: "u1", groupID: "eng"), EffectiveChange(userID: "u2", groupID: "eng")])
        #expect(delta.gained == [EffectiveChange(userID: "u3", groupID: "eng"), EffectiveChange(userID: "u2", groupID: "ops")])
    }

    @Test("cycles end: a user added to one group of a cycle gains every group of it")
    func cycle() {
        let parents = ["a": Set(["b"]), "b": ["a"], "c": ["a"]]
        let delta = EffectiveDelta.of(added: ["u": ["c"]], removed: [:], directGroups: [:], parents: parents)
        #expect(delta.gained.map(\.groupID) == ["a", "b", "c"])
        #expect(delta.lost.isEmpty)
    }

    @Test("equals the planner's effective changes over whole snapshots, for 300 random nestings (with cycles) and user changes")
    func randomAgainstPlanner() {
        var random = SplitMix64(seed: 11)
        func pick(_ count: Int) -> Int { Int(random.next() % UInt64(count)) }
        for _ in 0..<300 {
            let groups = (0..<(3 + pick(10))).map { "g\($0)" }
            let users = (0..<(2 + pick(20))).map { "u\($0)" }
            var current = Snapshot(
                users: users.map { DirectoryUser(id: $0, dn: "uid=\($0),dc=x", username: $0) },
                groups: groups.map { DirectoryGroup(id: $0, dn: "cn=\($0),dc=x", name: $0) }, memberships: [])
            var parents: [String: Set<String>] = [:]
            for _ in 0..<pick(groups.count * 2) {
                let parent = groups[pick(groups.count)], child = groups[pick(groups.count)]
                guard parent != child else { continue }
                current.members[parent, default: []].insert(.group(child))
                parents[child, default: []].insert(parent)
            }
            var direct: [String: Set<String>] = [:]
            for _ in 0..<pick(users.count * 3) {
                let group = groups[pick(groups.count)], user = users[pick(users.count)]
                current.members[group, default: []].insert(.user(user))
                direct[user, default: []].insert(group)
            }
            var wanted = current
            var added: [String: Set<String>] = [:], removed: [String: Set<String>] = [:]
            for _ in 0..<(1 + pick(12)) {
                let group = groups[pick(groups.count)], user = users[pick(users.count)]
                if wanted.members[group]?.contains(.user(user)) == true {
                    wanted.members[group]?.remove(.user(user))
                    if added[user]?.remove(group) == nil { removed[user, default: []].insert(group) }
                } else {
                    wanted.members[group, default: []].insert(.user(user))
                    if removed[user]?.remove(group) == nil { added[user, default: []].insert(group) }
                }
            }
            current.computeDigests()
            wanted.computeDigests()
            let plan = Planner.plan(wanted: wanted, current: current)
            let delta = EffectiveDelta.of(added: added, removed: removed, directGroups: direct, parents: parents)
            #expect(delta.gained == plan.effectiveGained)
            #expect(delta.lost == plan.effectiveLost)
        }
    }
}
