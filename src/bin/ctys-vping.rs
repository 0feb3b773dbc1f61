fn main() { std::process::exit(ctys::front::tool_main("vping", std::env::args_os().skip(1).collect())) }
