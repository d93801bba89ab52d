use iced_x86 as _;
use sidewinder_engine as _;
use wat as _;
