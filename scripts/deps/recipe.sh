# The recipe of the libraries bundled in vidgraph's prebuilt binary (sourced by build.sh).
# Every source is a Debian bookworm source package at an exact version, so the same recipe
# builds the same libraries on any machine with Debian's archive. The SHA-256 of this file and
# build.sh keys the build cache: change either and the libraries are rebuilt.

# Source packages, name=version (apt-get source).
DEPS_SOURCES=(
  zlib=1:1.2.13.dfsg-1
  libpng1.6=1.6.39-2+deb12u5
  libjpeg-turbo=1:2.1.5-2
  dav1d=1.0.0-2+deb12u1
  openh264=2.3.1+dfsg-3+deb12u2
  ffmpeg=7:5.1.9-0+deb12u1
  opencv=4.6.0+dfsg-12
)

# Build tools (Debian packages). No codec or image library from the system is linked: each is
# built above from its source, position-independent, and linked into what uses it.
DEPS_TOOLS=(build-essential dpkg-dev pkg-config cmake nasm meson ninja-build patchelf libffmpeg-nvenc-dev)

# FFmpeg: LGPL-2.1-or-later shared libraries. --disable-autodetect keeps configure from linking
# whatever the build machine has (VA-API, X11, OpenCL, ...): only what is listed is enabled.
# --build-suffix renames the libraries (libavcodec_vg.so.59) so that a process which also loads
# the system's FFmpeg (through OpenCV's videoio, say) cannot mix the two.
FFMPEG_CONFIGURE=(
  --enable-shared --disable-static --enable-pic
  --disable-programs --disable-doc --disable-avdevice --disable-debug
  --disable-autodetect --disable-gpl --disable-nonfree --disable-version3
  --build-suffix=_vg
  --enable-pthreads --enable-x86asm
  --enable-zlib --enable-libdav1d --enable-libopenh264
  --enable-ffnvcodec --enable-nvdec --enable-nvenc --enable-cuvid
)

# OpenCV: only the modules the built-in ops use, static and position-independent, linked into
# the addon with its symbols hidden. No IPP (not free), no OpenCL, no parallel backend but
# pthreads; PNG and JPEG through the libpng and libjpeg-turbo built above.
OPENCV_CMAKE=(
  -DBUILD_LIST=core,imgproc,video,imgcodecs
  -DBUILD_SHARED_LIBS=OFF -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DCMAKE_BUILD_TYPE=Release
  -DBUILD_TESTS=OFF -DBUILD_PERF_TESTS=OFF -DBUILD_EXAMPLES=OFF -DBUILD_opencv_apps=OFF -DBUILD_DOCS=OFF
  -DBUILD_JAVA=OFF -DBUILD_opencv_python2=OFF -DBUILD_opencv_python3=OFF -DBUILD_opencv_js=OFF
  -DBUILD_ZLIB=OFF -DBUILD_PNG=OFF -DBUILD_JPEG=OFF -DBUILD_TIFF=OFF -DBUILD_WEBP=OFF -DBUILD_OPENEXR=OFF -DBUILD_OPENJPEG=OFF -DBUILD_JASPER=OFF
  -DWITH_PNG=ON -DWITH_JPEG=ON -DWITH_TIFF=OFF -DWITH_WEBP=OFF -DWITH_OPENEXR=OFF -DWITH_OPENJPEG=OFF -DWITH_JASPER=OFF -DWITH_IMGCODEC_HDR=ON
  -DWITH_IPP=OFF -DWITH_ITT=OFF -DWITH_OPENCL=OFF -DWITH_OPENCLAMDFFT=OFF -DWITH_OPENCLAMDBLAS=OFF -DWITH_VA=OFF -DWITH_VA_INTEL=OFF
  -DWITH_CUDA=OFF -DWITH_LAPACK=OFF -DWITH_EIGEN=OFF -DWITH_TBB=OFF -DWITH_OPENMP=OFF -DWITH_PTHREADS_PF=ON
  -DWITH_FFMPEG=OFF -DWITH_GSTREAMER=OFF -DWITH_V4L=OFF -DWITH_1394=OFF -DWITH_GTK=OFF -DWITH_QT=OFF -DWITH_VTK=OFF
  -DWITH_PROTOBUF=OFF -DWITH_ADE=OFF -DWITH_QUIRC=OFF -DWITH_OPENVX=OFF -DWITH_GDAL=OFF -DWITH_GDCM=OFF
  -DOPENCV_GENERATE_PKGCONFIG=OFF -DCV_TRACE=OFF -DENABLE_PRECOMPILED_HEADERS=OFF
)
