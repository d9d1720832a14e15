import LDAPTestSupport
import SyncCore
import Testing

@Suite("The demo's sample directory", .tags(.slapd))
struct SampleDirectoryTests {
    @Test("syncs to 300 people, 13 groups, nested groups flattened, one former employee unresolved")
    func sample() async throws {
        let fixture = SampleDirectory.fixture(people: 300)
        #expect(fixture.entries.contains { $0.attributes.contains { $0.1 == "uid=former.employee,ou=people,dc=example,dc=com" } })
        let harness = try await SyncHarness(fixture: fixture)
        let report = try await harness.sync()
        #expect(report.run.totals.users == 300)
        #expect(report.run.totals.groups == 13)
        #expect(report.run.totals.unresolvedMembers == 1)
        let snapshot = try harness.snapshot()
        let allStaff = try #require(snapshot.groups.values.first { $0.name == "all-staff" })
        #expect(EffectiveMembership(snapshot).users(of: allStaff.id).count == 300)
        let permitted = try #require(snapshot.groups.values.first { $0.name == "permitted-senders-finance" })
        let financeCount = SampleDirectory.people(300).filter { $0.department == "Finance" }.count
        #expect(EffectiveMembership(snapshot).users(of: permitted.id).count >= financeCount)
    }
}
