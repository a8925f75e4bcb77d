"""England's 42 Integrated Care Systems for the England-shaped benchmark: each ICB's name,
its ONS code (E54, 2024 boundaries) and NHS (ODS) code, the councils that commission
in it, and the places it works in.

The ICB names and codes are public reference data (ONS and NHS England); the councils are
the upper-tier and unitary councils of each system's area (a council whose area falls in
two systems is named in the one that holds most of it). Places are the system's own
places where they follow council areas, and districts or towns for county systems, so
each system has the handful of places England's systems have; neighbourhoods beneath
them are made up by the generator. West Yorkshire's places use the example plans' slugs.
Written in December 2026 from what was public then; when publisher/ ships a places file
with ONS codes, the generator should read that instead.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class System:
    slug: str  # the system's place slug
    name: str  # the system's place name
    icb: str  # the ICB's full name
    ons: str  # ONS code, E54
    ods: str  # NHS organisation code
    councils: tuple[str, ...]
    places: tuple[str, ...]


def _s(slug: str, name: str, ons: str, ods: str, councils: str, places: str = "") -> System:
    council_names = tuple(c.strip() for c in councils.split(";"))
    place_names = tuple(p.strip() for p in places.split(";")) if places else council_names
    return System(
        slug, name, f"NHS {name} Integrated Care Board", ons, ods, council_names, place_names
    )


SYSTEMS: tuple[System, ...] = (
    _s(
        "cheshire-and-merseyside",
        "Cheshire and Merseyside",
        "E54000008",
        "QYG",
        "Cheshire East; Cheshire West and Chester; Halton; Knowsley; Liverpool; Sefton; "
        "St Helens; Warrington; Wirral",
    ),
    _s(
        "staffordshire-and-stoke-on-trent",
        "Staffordshire and Stoke-on-Trent",
        "E54000010",
        "QNC",
        "Staffordshire; Stoke-on-Trent",
        "Stoke-on-Trent; Newcastle-under-Lyme; Stafford; Cannock Chase; East Staffordshire; "
        "Lichfield; Tamworth; Staffordshire Moorlands",
    ),
    _s(
        "shropshire-telford-and-wrekin",
        "Shropshire, Telford and Wrekin",
        "E54000011",
        "QOC",
        "Shropshire; Telford and Wrekin",
        "Shropshire; Telford and Wrekin; Shrewsbury; Oswestry; Bridgnorth",
    ),
    _s(
        "lincolnshire",
        "Lincolnshire",
        "E54000013",
        "QJM",
        "Lincolnshire",
        "Lincoln; Boston; East Lindsey; North Kesteven; South Holland; South Kesteven; "
        "West Lindsey",
    ),
    _s(
        "leicester-leicestershire-and-rutland",
        "Leicester, Leicestershire and Rutland",
        "E54000015",
        "QK1",
        "Leicester; Leicestershire; Rutland",
        "Leicester; Leicestershire; Rutland; Charnwood; Hinckley and Bosworth; Melton",
    ),
    _s(
        "coventry-and-warwickshire",
        "Coventry and Warwickshire",
        "E54000018",
        "QWU",
        "Coventry; Warwickshire",
        "Coventry; Warwickshire North; Rugby; South Warwickshire",
    ),
    _s(
        "herefordshire-and-worcestershire",
        "Herefordshire and Worcestershire",
        "E54000019",
        "QGH",
        "Herefordshire; Worcestershire",
        "Herefordshire; Worcester; Wyre Forest; Redditch and Bromsgrove; Wychavon; Malvern Hills",
    ),
    _s(
        "norfolk-and-waveney",
        "Norfolk and Waveney",
        "E54000022",
        "QMM",
        "Norfolk; Suffolk",
        "Norwich; North Norfolk; South Norfolk; West Norfolk; Great Yarmouth and Waveney",
    ),
    _s(
        "suffolk-and-north-east-essex",
        "Suffolk and North East Essex",
        "E54000023",
        "QJG",
        "Essex; Suffolk",
        "Ipswich and East Suffolk; West Suffolk; North East Essex",
    ),
    _s(
        "bedfordshire-luton-and-milton-keynes",
        "Bedfordshire, Luton and Milton Keynes",
        "E54000024",
        "QHG",
        "Bedford; Central Bedfordshire; Luton; Milton Keynes",
    ),
    _s(
        "hertfordshire-and-west-essex",
        "Hertfordshire and West Essex",
        "E54000025",
        "QM7",
        "Hertfordshire; Essex",
        "East and North Hertfordshire; South and West Hertfordshire; West Essex",
    ),
    _s(
        "mid-and-south-essex",
        "Mid and South Essex",
        "E54000026",
        "QH8",
        "Essex; Southend-on-Sea; Thurrock",
        "Basildon and Brentwood; Mid Essex; South East Essex; Thurrock",
    ),
    _s(
        "north-west-london",
        "North West London",
        "E54000027",
        "QRV",
        "Brent; Ealing; Hammersmith and Fulham; Harrow; Hillingdon; Hounslow; "
        "Kensington and Chelsea; Westminster",
    ),
    _s(
        "north-central-london",
        "North Central London",
        "E54000028",
        "QMJ",
        "Barnet; Camden; Enfield; Haringey; Islington",
    ),
    _s(
        "north-east-london",
        "North East London",
        "E54000029",
        "QMF",
        "Barking and Dagenham; City of London; Hackney; Havering; Newham; Redbridge; "
        "Tower Hamlets; Waltham Forest",
    ),
    _s(
        "south-east-london",
        "South East London",
        "E54000030",
        "QKK",
        "Bexley; Bromley; Greenwich; Lambeth; Lewisham; Southwark",
    ),
    _s(
        "south-west-london",
        "South West London",
        "E54000031",
        "QWE",
        "Croydon; Kingston upon Thames; Merton; Richmond upon Thames; Sutton; Wandsworth",
    ),
    _s(
        "kent-and-medway",
        "Kent and Medway",
        "E54000032",
        "QKS",
        "Kent; Medway",
        "Medway and Swale; Dartford, Gravesham and Swanley; West Kent; East Kent",
    ),
    _s(
        "frimley",
        "Frimley",
        "E54000034",
        "QNQ",
        "Bracknell Forest; Hampshire; Surrey; Slough; Windsor and Maidenhead",
        "North East Hampshire and Farnham; Surrey Heath; Slough; "
        "Windsor, Ascot and Maidenhead; Bracknell",
    ),
    _s(
        "cornwall-and-the-isles-of-scilly",
        "Cornwall and the Isles of Scilly",
        "E54000036",
        "QT6",
        "Cornwall; Council of the Isles of Scilly",
        "Cornwall; Isles of Scilly; Penwith; Kerrier; Carrick; Restormel; North Cornwall",
    ),
    _s(
        "devon",
        "Devon",
        "E54000037",
        "QJK",
        "Devon; Plymouth; Torbay",
        "Plymouth; Torbay and South Devon; Eastern Devon; Northern Devon; Western Devon",
    ),
    _s(
        "somerset",
        "Somerset",
        "E54000038",
        "QSL",
        "Somerset",
        "Mendip; Sedgemoor; Somerset West and Taunton; South Somerset",
    ),
    _s(
        "bristol-north-somerset-and-south-gloucestershire",
        "Bristol, North Somerset and South Gloucestershire",
        "E54000039",
        "QUY",
        "Bristol; North Somerset; South Gloucestershire",
    ),
    _s(
        "bath-and-north-east-somerset-swindon-and-wiltshire",
        "Bath and North East Somerset, Swindon and Wiltshire",
        "E54000040",
        "QOX",
        "Bath and North East Somerset; Swindon; Wiltshire",
    ),
    _s(
        "dorset",
        "Dorset",
        "E54000041",
        "QVV",
        "Bournemouth, Christchurch and Poole; Dorset",
        "Bournemouth; Christchurch; Poole; North Dorset; West Dorset; Weymouth and Portland; "
        "Purbeck",
    ),
    _s(
        "hampshire-and-isle-of-wight",
        "Hampshire and Isle of Wight",
        "E54000042",
        "QRL",
        "Hampshire; Isle of Wight; Portsmouth; Southampton",
        "Hampshire; Isle of Wight; Portsmouth; Southampton; Basingstoke and Deane; Winchester",
    ),
    _s(
        "gloucestershire",
        "Gloucestershire",
        "E54000043",
        "QR1",
        "Gloucestershire",
        "Cheltenham; Cotswolds; Forest of Dean; Gloucester; Stroud and Berkeley Vale; Tewkesbury",
    ),
    _s(
        "buckinghamshire-oxfordshire-and-berkshire-west",
        "Buckinghamshire, Oxfordshire and Berkshire West",
        "E54000044",
        "QU9",
        "Buckinghamshire; Oxfordshire; Reading; West Berkshire; Wokingham",
    ),
    _s(
        "lancashire-and-south-cumbria",
        "Lancashire and South Cumbria",
        "E54000048",
        "QE1",
        "Blackburn with Darwen; Blackpool; Lancashire; Westmorland and Furness",
        "Blackburn with Darwen; Blackpool; Central Lancashire; East Lancashire; "
        "Morecambe Bay; Fylde and Wyre; West Lancashire",
    ),
    _s(
        "north-east-and-north-cumbria",
        "North East and North Cumbria",
        "E54000050",
        "QHM",
        "County Durham; Cumberland; Darlington; Gateshead; Hartlepool; Middlesbrough; "
        "Newcastle upon Tyne; North Tyneside; Northumberland; Redcar and Cleveland; "
        "South Tyneside; Stockton-on-Tees; Sunderland",
    ),
    _s(
        "humber-and-north-yorkshire",
        "Humber and North Yorkshire",
        "E54000051",
        "QOQ",
        "East Riding of Yorkshire; Kingston upon Hull; North East Lincolnshire; "
        "North Lincolnshire; North Yorkshire; York",
        "East Riding of Yorkshire; Hull; North East Lincolnshire; North Lincolnshire; "
        "North Yorkshire; York",
    ),
    _s(
        "surrey-heartlands",
        "Surrey Heartlands",
        "E54000063",
        "QXU",
        "Surrey",
        "Guildford and Waverley; North West Surrey; Surrey Downs; East Surrey",
    ),
    _s(
        "sussex",
        "Sussex",
        "E54000064",
        "QNX",
        "Brighton and Hove; East Sussex; West Sussex",
    ),
    _s(
        "west-yorkshire",
        "West Yorkshire",
        "E54000054",
        "QWO",
        "Bradford; Calderdale; Kirklees; Leeds; Wakefield",
        "Bradford District and Craven; Calderdale; Kirklees; Leeds; Wakefield District",
    ),
    _s(
        "birmingham-and-solihull",
        "Birmingham and Solihull",
        "E54000055",
        "QHL",
        "Birmingham; Solihull",
        "Birmingham East; Birmingham North; Birmingham South; Birmingham West and Central; "
        "Solihull",
    ),
    _s(
        "cambridgeshire-and-peterborough",
        "Cambridgeshire and Peterborough",
        "E54000056",
        "QUE",
        "Cambridgeshire; Peterborough",
        "Cambridge; East Cambridgeshire; Fenland; Huntingdonshire; Peterborough; "
        "South Cambridgeshire",
    ),
    _s(
        "greater-manchester",
        "Greater Manchester",
        "E54000057",
        "QOP",
        "Bolton; Bury; Manchester; Oldham; Rochdale; Salford; Stockport; Tameside; Trafford; Wigan",
    ),
    _s(
        "derby-and-derbyshire",
        "Derby and Derbyshire",
        "E54000058",
        "QJ2",
        "Derby; Derbyshire",
        "Derby; Derbyshire Dales; Chesterfield; Erewash; High Peak; North East Derbyshire; "
        "South Derbyshire",
    ),
    _s(
        "northamptonshire",
        "Northamptonshire",
        "E54000059",
        "QPM",
        "North Northamptonshire; West Northamptonshire",
    ),
    _s(
        "nottingham-and-nottinghamshire",
        "Nottingham and Nottinghamshire",
        "E54000060",
        "QT1",
        "Nottingham; Nottinghamshire",
        "Nottingham; Mid Nottinghamshire; South Nottinghamshire; Bassetlaw",
    ),
    _s(
        "south-yorkshire",
        "South Yorkshire",
        "E54000061",
        "QF7",
        "Barnsley; Doncaster; Rotherham; Sheffield",
    ),
    _s(
        "black-country",
        "Black Country",
        "E54000062",
        "QUA",
        "Dudley; Sandwell; Walsall; Wolverhampton",
    ),
)
