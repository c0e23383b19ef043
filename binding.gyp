{
  "targets": [
    {
      "target_name": "vidgraph",
      "sources": ["<!@(node scripts/cmake-sources.js)"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "include"],
      "defines": ["NAPI_VERSION=9", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_CPP_EXCEPTIONS_ALL", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "<!@(pkg-config --cflags libavformat libavcodec libavfilter libswscale libavutil opencv4)"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES", "GCC_ENABLE_CPP_RTTI": "YES", "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "OTHER_CPLUSPLUSFLAGS": ["<!@(pkg-config --cflags libavformat libavcodec libavfilter libswscale libavutil opencv4)"]
      },
      "libraries": [
        "<!@(pkg-config --libs libavformat libavcodec libavfilter libswscale libavutil)",
        "-L<!(pkg-config --variable=libdir opencv4)", "-lopencv_core", "-lopencv_imgproc", "-lopencv_video", "-lopencv_imgcodecs",
        "-lpthread", "-ldl"
      ]
    }
  ]
}
