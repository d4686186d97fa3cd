{
  "targets": [
    {
      "target_name": "mptcp",
      # Sources and defines: native/build.json, which CMakeLists.txt reads too.
      "sources": ["<!@(node -p \"require('./native/build.json').sources.join(' ')\")"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["<!@(node -p \"require('./native/build.json').defines.join(' ')\")"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags!": ["-fno-exceptions"],
      "xcode_settings": { "CLANG_CXX_LANGUAGE_STANDARD": "c++17", "MACOSX_DEPLOYMENT_TARGET": "10.15" },
      "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["/std:c++17"] } }
    },
    {
      # The per-call floor of `npm run bench` (bare getsockopt calls in C++):
      # a small program of its own, Linux only, never loaded by the library.
      "target_name": "mptcp_floor",
      "type": "executable",
      "conditions": [
        ["OS=='linux'", {
          "sources": ["native/floor/floor.cc"],
          "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra"]
        }, {
          "type": "none"
        }]
      ]
    }
  ]
}
