fn main() { std::process::exit(ctys::front::tool_main("macros", std::env::args().skip(1).collect())) }
