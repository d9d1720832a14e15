import Foundation

extension SampleDirectory {
    /// The demo's configuration for a sample directory at `url` (StartTLS with `ca.pem` and
    /// the service account's password in `ldap-password`, both beside the file): profile
    /// groups, policies and intents over the sample's groups. `make demo` writes it, and the
    /// documentation test runs every documented command against it.
    public static func demoConfiguration(url: String) -> String {
        """
        # Written by `make demo` for a throwaway directory; see Config/openldap.yaml for a documented example.
        store:
          path: var/groupsync.sqlite
        directories:
          - name: corp
            url: \(url)
            start_tls: true
            tls:
              ca_file: ca.pem
            bind:
              dn: \(DirectoryFixture.serviceDN)
              password_file: ldap-password
            users:
              base: ou=people,dc=example,dc=com
              filter: (objectClass=inetOrgPerson)
            groups:
              base: ou=groups,dc=example,dc=com
            limits:
              max_user_deletions: 10%
              max_membership_deletions: 10%
            schedule:                    # for `groupsync serve`
              watch: true                # apply changes as the directory announces them
              batch_window: 1s
            incremental:
              access_log: cn=accesslog   # member changes read from slapd's accesslog overlay

        # Local groups and the mail policies that target them (checked after every sync).
        profile_groups:
          - name: Permitted Senders - Finance
            members:
              - group: cn=permitted-senders-finance,ou=groups,dc=example,dc=com
              - address: cfo-assistant@partner.example

        relay_profiles:
          - name: Allowed Relay
            domains: [partner.example]
            senders:
              - group: relay-senders

        policies:
          - name: Permitted Senders - Finance
            type: permitted-senders
            applies_to: recipients
            targets:
              - profile_group: Permitted Senders - Finance
          - name: Content Examination
            type: content-examination
            applies_to: both
          - name: Legal Bypass
            type: content-examination-bypass
            applies_to: both
            targets:
              - group: legal
          - name: Blocked - Contractors
            type: blocked-senders
            applies_to: recipients
            targets:
              - group: contractors

        # Where people should land: evaluated after every sync (groupsync report).
        intents:
          - name: Finance onboarding
            users: [new.hire]
            expect:
              - policy: Permitted Senders - Finance
              - group: cn=all-staff,ou=groups,dc=example,dc=com
          - name: Finance department
            group: finance
            expect:
              - policy: Permitted Senders - Finance

        """
    }
}
