{
  "targets": [
    {
      "target_name": "icegate_native",
      "sources": ["src/addon.cc", "src/relay_plane.cc", "src/packet_class.cc", "src/tls_session.cc",
                  "src/tls_session_napi.cc", "src/hmac.cc"],
      "cflags_cc": ["-std=c++20", "-O2", "-Wall", "-Wextra"],
      "cflags_cc!": ["-fno-exceptions"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
