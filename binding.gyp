{
  "targets": [
    {
      "target_name": "negotiate",
      "sources": [
        "native/src/addon.cc",
        "native/src/context_table.cc",
        "native/src/gss/status.cc",
        "native/src/gss/acceptor.cc",
        "native/src/gss/completion_checks.cc",
        "native/src/gss/protect.cc",
        "native/src/gss/neg_token_resp.cc",
        "native/src/binding/binding.cc",
        "native/src/binding/accept.cc",
        "native/src/binding/protect.cc",
        "native/src/binding/table.cc",
        "native/src/binding/keytab.cc",
        "native/src/krb5/keytab.cc",
        "native/src/ntlm/users_file.cc",
        "native/src/krb5/clock_skew.cc",
        "native/src/krb5/memory_keytab.cc",
        "native/src/replay/replay_cache.cc",
        "native/src/replay/replay_clock.cc",
        "native/src/replay/replay_journal.cc",
        "native/src/replay/replay_tag.cc",
        "native/src/replay/siphash.cc",
        "native/src/replay/tag_keys.cc",
        "native/src/replay/tag_set.cc",
        "native/src/binding/replay.cc",
        "native/src/pac/text.cc",
        "native/src/pac/logon_info.cc",
        "native/src/pac/pac_buffers.cc",
        "native/src/pac/pac_container.cc",
        "native/src/pac/gss_pac.cc",
        "native/src/identity/identity.cc",
        "native/src/identity/local_name.cc",
        "native/src/identity/delegated_cred.cc",
        "native/src/binding/identity.cc",
        "native/src/s4u/impersonate.cc",
        "native/src/s4u/proxy_cred.cc",
        "native/src/binding/s4u.cc",
        "native/src/basic/password_check.cc",
        "native/src/binding/basic.cc",
        "native/src/handoff/call_queue.cc",
        "native/src/binding/handoff.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api"],
      # SWALLOW_UNTHROWABLE_EXCEPTIONS: a worker terminated while inside a GSSAPI call (task
      # timeout) resumes in a dying thread; building the result there must not abort the process.
      "defines": ["NAPI_VERSION=8", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
      "libraries": ["<!@(pkg-config --libs krb5-gssapi krb5)"],
      "cflags": ["<!@(pkg-config --cflags krb5-gssapi)"]
    },
    {
      # `negotiate-server loadgen`'s token generator: a program of its own (the initiator side of
      # the handshake, fed and read over pipes), not part of the addon.
      "target_name": "tokengen",
      "type": "executable",
      "sources": ["native/src/tokengen/tokengen.c"],
      "cflags": ["-Wall", "-Wextra", "<!@(pkg-config --cflags krb5-gssapi krb5)"],
      "libraries": ["<!@(pkg-config --libs krb5-gssapi krb5)"]
    }
  ]
}
